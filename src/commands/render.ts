// Rendering helpers for the CLI edge: tables with cli-table3, colour only on a TTY without
// NO_COLOR, and plain key/value blocks. Core results arrive as JSON-safe data.
import Table from 'cli-table3';

export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

const codes = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;
export type Style = keyof typeof codes;

export function paint(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  if (!colorEnabled(stream)) return text;
  const [a, b] = codes[style];
  return `\u001b[${a}m${text}\u001b[${b}m`;
}

export function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(cell).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function table(head: string[], rows: unknown[][], options: { empty?: string } = {}): string {
  if (rows.length === 0 && options.empty) return options.empty;
  const color = colorEnabled();
  const t = new Table({
    head: head.map((h) => (color ? paint('bold', h) : h)),
    style: { head: [], border: [], compact: false },
    wordWrap: true,
  });
  for (const r of rows) t.push(r.map(cell));
  return t.toString();
}

/** A two-column block for one object: `key  value` lines. */
export function keyValue(entries: Array<[string, unknown]>): string {
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${paint('dim', k.padEnd(width))}  ${cell(v)}`).join('\n');
}
