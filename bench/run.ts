// `npm run bench [-- --json] [-- --only <title>] [-- --runs N] [-- --list]`
//
// Runs each bench module in turn and prints its figures: a value, and a ratio against a baseline
// measured in the same run (the machine's speed cancels out of the ratio, not of the value).
// Nothing here fails on time. A bench that cannot run here prints why and is skipped; a bench
// that breaks prints an error line, the others still run, and the exit code is 1.
//
// Adding a bench: a module exporting `async (ctx) => Figure[]`, and one entry in BENCHES.
import { cpus } from 'node:os';
import { type Bench, type BenchContext, BenchSkipped, type Figure } from './measure.js';

const BENCHES: Bench[] = [
  { title: 'startup', run: async (ctx) => (await import('./startup.js')).benchStartup(ctx) },
  { title: 'template render', run: async () => (await import('./template-render.js')).benchTemplateRender() },
  { title: 'import', run: async (ctx) => (await import('./import.js')).benchImport(ctx) },
  { title: 'queue build', run: async (ctx) => (await import('./queue-build.js')).benchQueueBuild(ctx) },
  { title: 'worker', run: async (ctx) => (await import('./worker.js')).benchWorker(ctx) },
  { title: 'report export', run: async (ctx) => (await import('./report.js')).benchReport(ctx) },
  { title: 'webhook', run: async (ctx) => (await import('./webhook.js')).benchWebhook(ctx) },
];

/** Checks what a bench module returned and fills in missing ratios. */
function asFigures(value: unknown): Figure[] {
  if (!Array.isArray(value)) throw new Error(`expected an array of figures, got ${typeof value}`);
  return value.map((f, i) => {
    if (!f || typeof f.name !== 'string' || typeof f.value !== 'number' || typeof f.unit !== 'string') {
      throw new Error(`figure ${i} is not {name, value, unit}: ${JSON.stringify(f)}`);
    }
    const out: Figure = { ...f };
    const b = out.baseline;
    if (out.ratio === undefined && b && typeof b.value === 'number' && b.value > 0) out.ratio = out.value / b.value;
    return out;
  });
}

interface Options {
  json: boolean;
  list: boolean;
  only: string[];
  runs: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, list: false, only: [], runs: 15 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') usage(`${a.split('=')[0]} needs a value`);
      return v!;
    };
    if (a === '--json') o.json = true;
    else if (a === '--list') o.list = true;
    else if (a === '--only' || a.startsWith('--only=')) o.only.push(value().toLowerCase());
    else if (a === '--runs' || a.startsWith('--runs=')) {
      o.runs = Number(value());
      if (!Number.isInteger(o.runs) || o.runs < 1) usage('--runs needs a whole number of at least 1');
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  return o;
}

function usage(error?: string): never {
  const text = [
    'usage: npm run bench -- [--only <title substring>]... [--runs N] [--json] [--list]',
    `benches: ${BENCHES.map((b) => b.title).join(', ')}`,
  ].join('\n');
  if (error) {
    process.stderr.write(`bench: ${error}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

interface Outcome {
  title: string;
  status: 'ok' | 'skipped' | 'error';
  figures: Figure[];
  message?: string;
  seconds: number;
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(outcomes: Outcome[]): string {
  const header = ['bench', 'figure', 'value', 'unit', 'ratio', 'baseline', 'note'];
  const rows: string[][] = [];
  const lines: string[] = [];
  for (const o of outcomes) {
    for (const f of o.figures) {
      rows.push([
        o.title,
        f.name,
        formatNumber(f.value),
        f.unit,
        f.ratio !== undefined ? `×${f.ratio.toFixed(2)}` : '',
        f.baseline ? `${f.baseline.name} = ${formatNumber(f.baseline.value)}` : '',
        f.note ?? '',
      ]);
    }
  }
  const all = [header, ...rows];
  const width = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const right = new Set([2, 4]);
  const fmt = (r: string[]) =>
    r
      .map((cell, c) => (right.has(c) ? cell.padStart(width[c]!) : cell.padEnd(width[c]!)))
      .join('  ')
      .trimEnd();
  if (rows.length > 0) {
    lines.push(fmt(header), width.map((w) => '-'.repeat(w)).join('  '));
    let last = '';
    for (const r of rows) {
      lines.push(fmt(r[0] === last ? ['', ...r.slice(1)] : r));
      last = r[0]!;
    }
  }
  for (const o of outcomes) {
    if (o.status === 'skipped') lines.push(`${o.title}: ${o.message}`);
    if (o.status === 'error') lines.push(`${o.title}: error: ${o.message}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.list) {
    for (const b of BENCHES) process.stdout.write(`${b.title}\n`);
    return;
  }
  const selected = options.only.length === 0 ? BENCHES : BENCHES.filter((b) => options.only.some((s) => b.title.toLowerCase().includes(s)));
  if (selected.length === 0) usage(`no bench matches --only ${options.only.join(', ')}`);

  const outcomes: Outcome[] = [];
  for (const bench of selected) {
    const ctx: BenchContext = { runs: options.runs, progress: (m) => process.stderr.write(`[${bench.title}] ${m}\n`) };
    const started = performance.now();
    ctx.progress('running');
    let outcome: Outcome;
    try {
      outcome = { title: bench.title, status: 'ok', figures: asFigures(await bench.run(ctx)), seconds: 0 };
    } catch (e) {
      const err = e as Error;
      outcome =
        err instanceof BenchSkipped
          ? { title: bench.title, status: 'skipped', figures: [], message: err.message, seconds: 0 }
          : { title: bench.title, status: 'error', figures: [], message: err?.message ?? String(e), seconds: 0 };
      if (outcome.status === 'error' && process.env.CAMPAIGN_DEBUG) process.stderr.write(`${err?.stack ?? e}\n`);
    }
    outcome.seconds = (performance.now() - started) / 1000;
    ctx.progress(`${outcome.status} in ${outcome.seconds.toFixed(1)} s`);
    outcomes.push(outcome);
  }

  if (options.json) {
    const doc = {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      date: new Date().toISOString(),
      runs: options.runs,
      benches: outcomes,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    process.stdout.write(`campaign benchmarks: node ${process.version}, ${process.platform}-${process.arch}, ${cpus().length} cpus, ${options.runs} runs each\n\n`);
    process.stdout.write(`${table(outcomes)}\n`);
  }
  // Timings never fail the run; a bench that could not run at all does.
  if (outcomes.some((o) => o.status === 'error')) process.exitCode = 1;
}

await main();
