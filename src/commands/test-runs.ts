// `campaign test start | pause | resume | cancel | show | list | report`: test runs to internal
// test lists. The worker sends them under the session's pacing; these commands create and steer.
import type { Command } from 'commander';
import type { RecipientState } from '../core/db/schema.js';
import {
  cancelTestRun,
  listTestRuns,
  pauseTestRun,
  resumeTestRun,
  type ShowTestRunResult,
  showTestRun,
  startTestRun,
  type StartTestRunResult,
  type TestRunListItem,
} from '../core/test-runs/index.js';
import { type CliKit, intArg } from './kit.js';
import { keyValue, paint, table } from './render.js';
import { presentReport, runReport } from './report.js';

const ORDER: RecipientState[] = ['PENDING', 'PAUSED', 'SENDING', 'SENT_API_ACCEPTED', 'DELIVERED', 'READ', 'FAILED', 'SKIPPED', 'UNKNOWN'];

function countsLine(counts: Partial<Record<RecipientState, number>>): string {
  const parts = ORDER.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${s} ${counts[s]}`);
  return parts.join(', ') || '—';
}

function presentRun(r: ShowTestRunResult): string {
  const t = r.testRun;
  const head = keyValue([
    ['test run', t.id],
    ['campaign', `${t.campaignId} "${t.campaignName}"`],
    ['list', t.testListName],
    ['session', t.session],
    ['status', `${t.status}${t.pauseReason ? ` (${t.pauseReason})` : ''}`],
    ['content hash', t.contentHash.slice(0, 16)],
    ['started', `${t.startedAt ?? ''} by ${t.createdBy ?? ''}`],
    ['recipients', `${r.total}: ${countsLine(r.counts)}`],
  ]);
  const rows = table(
    ['id', 'name', 'chat id', 'type', 'status', 'attempts', 'sent', 'error'],
    r.recipients.map((x) => [
      x.id,
      x.name,
      x.chatId,
      `${x.messageType}${x.usedFallback ? ' (fallback)' : ''}`,
      x.status,
      x.attempts,
      x.sentAt?.slice(0, 19).replace('T', ' ') ?? '',
      x.lastError ?? x.skipReason ?? '',
    ]),
    { empty: 'No recipients.' },
  );
  return `${head}\n\n${rows}`;
}

function presentStart(r: StartTestRunResult): string {
  return `${presentRun(r)}\n\n${paint('dim', `The worker sends these under the session's pacing: \`campaign worker\` must be running. Follow with \`campaign test show ${r.testRun.id}\`.`)}`;
}

function presentList(r: { testRuns: TestRunListItem[] }): string {
  return table(
    ['id', 'campaign', 'list', 'session', 'status', 'recipients', 'states', 'started'],
    r.testRuns.map((t) => [t.id, `${t.campaignId} ${t.campaignName}`, t.testListName, t.session, t.status, t.total, countsLine(t.counts), t.createdAt.slice(0, 16).replace('T', ' ')]),
    { empty: 'No test runs yet. Start one with `campaign test start <campaign> --list <list>`.' },
  );
}

export function register(program: Command, k: CliKit): void {
  const test = program.command('test').description('Test runs to internal test lists: start, pause, resume, cancel, show, list, report');

  test
    .command('start')
    .description("Snapshot a test list's active members with the rendered message; the worker sends them")
    .argument('<campaign>', 'id or name (a DRAFT stays editable)')
    .requiredOption('--list <list>', 'required: test list: id or name')
    .action(
      k.action(async (run, [ref]) => {
        const r = await startTestRun(await run.ctx(), ref!, run.opts.list);
        for (const w of r.warnings) run.log.warn(w);
        return r;
      }, presentStart),
    );

  for (const [verb, fn, what] of [
    ['pause', pauseTestRun, 'Pause a test run (binds from the next claim)'],
    ['resume', resumeTestRun, 'Resume a paused test run'],
    ['cancel', cancelTestRun, 'Cancel a test run: rows that never left are skipped'],
  ] as const) {
    test
      .command(verb)
      .description(what)
      .argument('<run>', 'test run id')
      .option('--reason <text>', 'why, for the audit log')
      .action(k.action(async (run, [ref]) => fn(await run.ctx(), ref!, run.opts.reason), presentRun));
  }

  test
    .command('show')
    .description('A test run: counts by state and every recipient')
    .argument('<run>', 'test run id')
    .action(k.action(async (run, [ref]) => showTestRun(await run.ctx(), ref!), presentRun));

  test
    .command('list')
    .description('Test runs, newest first')
    .option('--campaign <campaign>', 'only the runs of this campaign (id or name)')
    .option('--limit <n>', 'at most this many', '200')
    .action(k.action(async (run) => listTestRuns(await run.ctx(), { campaign: run.opts.campaign, limit: intArg(run.opts.limit, '--limit', { min: 1, max: 10_000 }) }), presentList));

  test
    .command('report')
    .description('Per-recipient report of a test run as CSV or JSON, with counts and rates')
    .argument('<run>', 'test run id')
    .option('--format <format>', 'csv or json (default csv; json with --json)')
    .option('--out <file>', 'write to this file (atomically) instead of stdout')
    .action(k.action(async (run, [ref]) => runReport(run, { testRunId: ref! }), presentReport));
}
