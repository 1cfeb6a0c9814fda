// `campaign status [--json] [--watch]`, `campaign health [--json]` and `campaign tui`: what ops
// look at. status and health print one core result (a table, or JSON with --json); the TUI
// (tui, status --watch) loads ink and react here, in its action, and nowhere else.
import type { Command } from 'commander';
import type { Pool, PoolClient } from 'pg';
import type { Context } from '../core/context.js';
import { CampaignError, EXIT, toCampaignError } from '../core/errors.js';
import type { ComponentStatus, HealthReport, StatusSnapshot } from '../core/status/index.js';
import { presentRunning } from './control.js';
import type { CliKit, Run } from './kit.js';
import { paint, table, when } from './render.js';

async function wahaFor(run: Run, timeoutMs: number) {
  const cfg = run.config();
  if (!cfg.wahaBaseUrl) return undefined;
  const { createWahaClient } = await import('../core/waha/index.js');
  return createWahaClient({ baseUrl: cfg.wahaBaseUrl, apiKey: cfg.wahaApiKey, timeoutMs });
}

function stateCell(c: ComponentStatus): string {
  if (c.state === 'up') return paint('green', 'up');
  if (c.state === 'down') return paint(c.required ? 'red' : 'yellow', 'DOWN');
  if (c.state === 'not_configured') return 'not set';
  return '';
}

function componentRows(components: ComponentStatus[]): unknown[][] {
  return components.map((c) => [c.name, stateCell(c), c.latencyMs === null ? '' : `${c.latencyMs} ms`, c.required ? 'yes' : 'no', c.detail ?? '']);
}

export function presentStatus(s: StatusSnapshot): string {
  const out: string[] = [];
  out.push(`${paint('bold', 'Status')} at ${s.at} (days counted in ${s.timezone}): ${s.ok ? paint('green', 'every required component is up') : paint('red', 'a required component is DOWN')}`);
  out.push(table(['component', 'state', 'latency', 'required', 'detail'], componentRows(s.components)));

  const sessions = s.sessions.map((x) => [
    x.name,
    x.inWaha === false ? paint('red', 'not in WAHA') : x.wahaStatus === null ? '?' : x.wahaStatus === 'WORKING' ? paint('green', x.wahaStatus) : paint('red', x.wahaStatus),
    `${x.sentToday}/${x.dailyLimit}`,
    `${x.lastHour}/${x.hourlyLimit}`,
    `${x.window.open ? 'open' : 'closed'} ${x.window.start}-${x.window.end} ${x.window.days}`,
    x.canSendNow ? 'now' : x.nextAllowedSendAt ? when(x.nextAllowedSendAt, new Date(s.at).getTime()) : 'when the session works',
    x.canSendNow ? '' : (x.heldMessage ?? x.heldBy ?? ''),
  ]);
  out.push('');
  out.push(paint('bold', 'Sessions'));
  out.push(table(['session', 'WAHA', 'today', 'last 60 min', 'window', 'next send', 'held because'], sessions, { empty: s.waha.configured ? 'No session known yet.' : 'No session known yet (WAHA_BASE_URL is not set).' }));

  out.push('');
  out.push(paint('bold', 'Running and paused'));
  out.push(presentRunning({ items: s.running }));
  if (s.ready.length > 0) {
    out.push(`Ready to start: ${s.ready.map((r) => `${r.id} "${r.name}" (${r.pending} queued${r.queueBuiltAt ? `; \`campaign start ${r.id}\`` : `; build its queue first`})`).join(', ')}`);
  }

  if (s.workers.length > 0) {
    out.push('');
    out.push(paint('bold', 'Workers (last 24 h)'));
    out.push(
      table(
        ['worker', 'host', 'pid', 'state', 'last seen', 'doing'],
        s.workers.map((w) => [w.name, w.host, w.pid, w.stale ? paint('red', `${w.state} (STALE)`) : w.state, when(w.lastSeenAt, new Date(s.at).getTime()), w.detail ?? '']),
      ),
    );
  }
  out.push(`Last webhook event: ${s.lastWebhookAt ? when(s.lastWebhookAt, new Date(s.at).getTime()) : 'none received yet'}`);

  out.push('');
  if (s.attention.length === 0) out.push(paint('green', 'Nothing needs attention.'));
  else {
    out.push(paint('bold', `Attention (${s.attention.length})`));
    for (const a of s.attention) {
      out.push(`${a.severity === 'error' ? paint('red', 'ERROR') : paint('yellow', 'WARN ')} ${a.title}: ${a.detail}${a.command ? `\n      -> ${a.command}` : ''}`);
    }
  }
  return out.join('\n');
}

export function presentHealth(h: HealthReport): string {
  const down = h.components.filter((c) => c.required && !c.ok).map((c) => c.name);
  return `${table(['component', 'state', 'latency', 'required', 'detail'], componentRows(h.components))}\n${
    h.ok ? paint('green', 'healthy: every component this configuration needs is up') : paint('red', `UNHEALTHY: ${down.join(', ')} down`)
  }`;
}

function requireTerminal(command: string): void {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new CampaignError(
      'NO_TTY',
      `\`campaign ${command}\` is a live terminal screen and needs an interactive terminal (stdin and stdout a TTY). For scripts and monitoring use \`campaign status --json\` (one snapshot) or \`campaign health --json\`.`,
      {},
    );
  }
}

/** Opens the database for the TUI; if it is down now, the screen starts DISCONNECTED and retries. */
async function tuiContext(run: Run): Promise<Context> {
  try {
    return await run.ctx({ poolSize: 3 });
  } catch (e) {
    if (toCampaignError(e).code !== 'DATABASE_UNAVAILABLE') throw e;
    return run.ctx({ poolSize: 3, skipSchemaCheck: true });
  }
}

/**
 * pg emits 'error' on a pooled client whose connection dies while it is checked out (between
 * kysely's queries, or with a query in flight) and nobody listens then: the process would crash
 * when the database restarts. The failed query still rejects and the pool drops the dead client,
 * so a listener that ignores the event is all the TUI needs to survive and retry.
 */
function surviveLostConnections(pool: Pool): void {
  const ignore = () => {};
  pool.on('connect', (client) => client.on('error', ignore));
  for (const client of (pool as unknown as { _clients?: PoolClient[] })._clients ?? []) client.on('error', ignore);
}

async function runTuiCommand(run: Run, command: string): Promise<null> {
  requireTerminal(command);
  const ctx = await tuiContext(run);
  surviveLostConnections(run.database()!.pool);
  const waha = await wahaFor(run, 5000);
  const url = run.database()!.url;
  // Ink draws nothing live when it believes it runs in CI (it checks CI at import). Both ends are
  // a TTY (checked above), so a person is watching: draw.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const [{ runTui }, { wakeOnNotify }, { WORK_CHANNEL }] = await Promise.all([
    import('../tui/run-tui.js'),
    import('../tui/wake-on-notify.js'),
    import('../core/campaigns/campaign-control.js'),
  ]);
  await runTui({ ctx, waha, subscribe: (wake) => wakeOnNotify(url, WORK_CHANNEL, wake) });
  run.printed = true;
  return null;
}

export function register(program: Command, k: CliKit): void {
  program
    .command('status')
    .description('One screen of truth: components, sessions, running campaigns, attention items (--watch: live)')
    .option('--watch', 'the live terminal screen (same as `campaign tui`)')
    .action(
      k.action(async (run): Promise<StatusSnapshot | null> => {
        if (run.opts.watch) return runTuiCommand(run, 'status --watch');
        const ctx = await run.ctx();
        const { statusSnapshot } = await import('../core/status/index.js');
        return statusSnapshot(ctx, { waha: await wahaFor(run, 5000) });
      }, (s) => (s ? presentStatus(s) : '')),
    );

  program
    .command('health')
    .description('Check each component with its latency; exit 9 when a component the configuration needs is down')
    .action(
      k.action(async (run) => {
        const { healthCheck } = await import('../core/status/index.js');
        let ctx: Context | undefined;
        let databaseError: unknown;
        try {
          ctx = await run.ctx({ poolSize: 2 });
        } catch (e) {
          // Down is an answer here, not an error: the other components are still checked.
          if (toCampaignError(e).code === 'INTERNAL' || toCampaignError(e).code === 'CONFIG_INVALID') throw e;
          databaseError = e;
        }
        const report = await healthCheck(ctx, run.config(), { waha: await wahaFor(run, 5000), databaseError });
        if (!report.ok) run.exitCode = EXIT.UNHEALTHY;
        return report;
      }, presentHealth),
    );

  program
    .command('tui')
    .description('The live terminal dashboard for ops (keys: ? for help, q to quit)')
    .action(k.action(async (run) => runTuiCommand(run, 'tui')));
}
