// Start-up cost of the CLI as a user pays it, against `node -e 0` (the floor: Node itself):
// `campaign --help` (no command module, no database), `campaign settings show --json` (one
// command module and the database), and the embedded database's own costs: the first start
// (initdb + start + migrations), a command while the server runs (warm), and a command that
// has to start it again after `campaign db stop` (restart).
//
// Every CLI run uses a fresh CAMPAIGN_HOME in a temp directory as its working directory and no
// DATABASE_URL (so neither the developer's shell nor a .env in the checkout leaks in), which
// makes the embedded database's first start a real one. The server is stopped and the temp
// data removed at the end, whatever happened.
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { type BenchContext, type Figure, type Summary, figure, median, sampleProcess, timeOk, timeProcess } from './measure.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'campaign');
const NODE = process.execPath;
const RESTART_CYCLES = 3;

function cleanEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'USER', 'SYSTEMROOT']) if (process.env[k] !== undefined) env[k] = process.env[k];
  env.NO_COLOR = '1';
  env.CAMPAIGN_HOME = home;
  return env;
}

export async function benchStartup(ctx: BenchContext): Promise<Figure[]> {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli.js'))) throw new Error('dist/src/cli.js is missing: run `npm run build` first (npm run bench does)');
  const home = realpathSync(mkdtempSync(join(tmpdir(), 'campaign-bench-')));
  const opts = { env: cleanEnv(home), cwd: home };
  const cli = (args: string[]) => [BIN, ...args];
  const figures: Figure[] = [];
  const runs = ctx.runs;
  let startedDb = false;

  try {
    // Warm the file cache once per command so the first sample is not an outlier of its own.
    ctx.progress(`node -e 0 ×${runs}`);
    await timeOk('node -e 0', NODE, ['-e', '0'], opts);
    const base = await sampleProcess('node -e 0', runs, NODE, ['-e', '0'], opts);
    figures.push(...pair('node -e 0', base));

    ctx.progress(`campaign --help ×${runs}`);
    await timeOk('campaign --help', NODE, cli(['--help']), opts);
    const help = await sampleProcess('campaign --help', runs, NODE, cli(['--help']), opts);
    figures.push(...pair('campaign --help', help, 'node -e 0', base));

    // The warm-up of `settings show` is the embedded database's first start in this home.
    ctx.progress('embedded database: first start');
    startedDb = true;
    const first = await timeOk('campaign settings show --json (first start)', NODE, cli(['settings', 'show', '--json']), { ...opts, timeoutMs: 180_000 });

    ctx.progress(`campaign settings show --json ×${runs} (server running)`);
    const show = await sampleProcess('campaign settings show --json', runs, NODE, cli(['settings', 'show', '--json']), opts);
    figures.push(...pair('campaign settings show --json', show, 'node -e 0', base));

    ctx.progress(`embedded database: db stop + restart ×${RESTART_CYCLES}`);
    const stops: number[] = [];
    const restarts: number[] = [];
    for (let i = 0; i < RESTART_CYCLES; i++) {
      stops.push((await timeOk('campaign db stop', NODE, cli(['db', 'stop', '--json']), opts)).ms);
      restarts.push((await timeOk('campaign settings show --json (after db stop)', NODE, cli(['settings', 'show', '--json']), opts)).ms);
    }
    const warm = { name: 'embedded database: warm start', value: show.median };
    const baseMedian = { name: 'node -e 0 (median)', value: base.median };
    const cycles = `median of ${RESTART_CYCLES}`;
    figures.push(
      figure('embedded database: first start', first.ms, 'ms', warm, 'first command on a new CAMPAIGN_HOME: initdb + start + migrations'),
      figure('embedded database: warm start', show.median, 'ms', baseMedian, 'a command while the server runs (settings show, median)'),
      figure('embedded database: restart', median(stops.map((s, i) => s + restarts[i]!)), 'ms', warm, `db stop + a command that starts it again, ${cycles}`),
      figure('  campaign db stop', median(stops), 'ms', baseMedian, cycles),
      figure('  first command after db stop', median(restarts), 'ms', warm, cycles),
    );
    return figures;
  } finally {
    if (startedDb) await stopAndForget(home, opts, ctx);
    rmSync(home, { recursive: true, force: true });
  }
}

/** Median and p90 of a command, each against the same statistic of the baseline. */
function pair(name: string, s: Summary, baseName?: string, base?: Summary): Figure[] {
  return [
    figure(`${name} (median)`, s.median, 'ms', base && baseName ? { name: `${baseName} (median)`, value: base.median } : undefined, `${s.samples.length} runs`),
    figure(`${name} (p90)`, s.p90, 'ms', base && baseName ? { name: `${baseName} (p90)`, value: base.p90 } : undefined),
  ];
}

/**
 * Stops the embedded server of the bench's home and removes its cluster when it lives outside
 * the home (as root it lives in /var/lib/campaign-embedded/<hash of the home>/; only that
 * per-home folder is removed, never the shared binaries beside it).
 */
async function stopAndForget(home: string, opts: { env: NodeJS.ProcessEnv; cwd: string }, ctx: BenchContext): Promise<void> {
  let dataDir: string | undefined;
  try {
    const status = await timeProcess(NODE, [BIN, 'db', 'status', '--json'], opts);
    dataDir = JSON.parse(status.stdout)?.embedded?.dataDir;
  } catch {
    // No status (the command failed or printed no JSON): stop anyway, leave data where it is.
  }
  const stop = await timeProcess(NODE, [BIN, 'db', 'stop', '--json'], opts).catch((e: Error) => ({ code: -1, stderr: e.message }));
  if (stop.code !== 0) ctx.progress(`warning: \`campaign db stop\` failed (CAMPAIGN_HOME=${home}): ${stop.stderr.trim().split('\n')[0] ?? ''}`);
  if (!dataDir || dataDir === home || dataDir.startsWith(home + sep)) return;
  const cluster = dirname(dataDir);
  if (stop.code === 0 && /^[0-9a-f]{12}$/.test(basename(cluster))) rmSync(cluster, { recursive: true, force: true });
  else ctx.progress(`note: the bench's embedded database data is left in ${dataDir}`);
}

// For a quick look without the runner: `node --import tsx bench/startup.ts`.
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const figures = await benchStartup({ runs: 15, progress: (m) => process.stderr.write(`  ${m}\n`) });
  console.log(JSON.stringify(figures, null, 2));
}
