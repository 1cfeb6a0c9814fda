// Rendering helpers for the CLI edge: tables with cli-table3, colour only on a TTY without
// NO_COLOR, and plain key/value blocks. Core results arrive as JSON-safe data.
import { createRequire } from 'node:module';

// cli-table3 is loaded on the first table, not at start-up (`--help` never draws one).
let Table: typeof import('cli-table3') | undefined;
const requireCjs = createRequire(import.meta.url);

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
  Table ??= requireCjs('cli-table3') as typeof import('cli-table3');
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

/** `2026-12-01 14:05:09 (in 3m)`: an ISO instant for a person, with how far away it is. */
export function when(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const t = new Date(iso).getTime();
  const d = Math.round((t - now) / 1000);
  const abs = Math.abs(d);
  const span = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 172_800 ? `${Math.floor(abs / 3600)}h${String(Math.round((abs % 3600) / 60)).padStart(2, '0')}` : `${Math.round(abs / 86400)}d`;
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} (${d >= 0 ? `in ${span}` : `${span} ago`})`;
}

export function percent(x: number): string {
  return `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
}
