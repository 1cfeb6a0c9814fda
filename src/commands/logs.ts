// `campaign logs [--campaign] [--test-run] [--event] [--session] [--since] [--limit] [--follow]`:
// the worker's decisions with their reasons. --follow keeps printing new ones (NDJSON with --json).
import type { Command } from 'commander';
import type { WorkerEventRow } from '../core/worker/list-worker-events.js';
import { intArg, type CliKit, type Run } from './kit.js';
import { table } from './render.js';

function line(e: WorkerEventRow): string {
  const who = [e.campaignId !== null ? `campaign ${e.campaignId}` : '', e.testRunId !== null ? `test ${e.testRunId}` : '', e.session ? `@${e.session}` : ''].filter(Boolean).join(' ');
  return `${e.at.slice(0, 19).replace('T', ' ')}  ${e.event.padEnd(19)} ${who.padEnd(22)} ${e.reason ?? ''}${e.nextAttemptAt ? `  (next ${e.nextAttemptAt.slice(11, 19)})` : ''}`;
}

export function register(program: Command, k: CliKit): void {
  program
    .command('logs')
    .description('Worker decisions with their reasons (why is nothing sending?)')
    .option('--campaign <campaign>', 'only this campaign (id or name)')
    .option('--test-run <id>', 'only this test run')
    .option('--event <names>', 'only these events, comma separated (e.g. failed,retry)')
    .option('--session <name>', 'only this WAHA session')
    .option('--since <when>', 'only since then: 2h, 30m, 7d, or an ISO time')
    .option('--limit <n>', 'at most this many (newest)', '50')
    .option('--follow', 'keep printing new events until Ctrl-C')
    .action(
      k.action(async (run: Run) => {
        const [{ listWorkerEvents, checkEventNames }, { parseSince }, { getCampaign }] = await Promise.all([
          import('../core/worker/list-worker-events.js'),
          import('../core/time/parse-since.js'),
          import('../core/campaigns/campaign.repository.js'),
        ]);
        const ctx = await run.ctx();
        const filter = {
          campaignId: run.opts.campaign ? (await getCampaign(ctx.db, run.opts.campaign)).id : undefined,
          testRunId: intArg(run.opts.testRun, '--test-run', { min: 1 }),
          events: run.opts.event ? checkEventNames(String(run.opts.event).split(',').map((s) => s.trim()).filter(Boolean)) : undefined,
          session: run.opts.session,
          since: run.opts.since ? parseSince(run.opts.since, ctx.clock.now()) : undefined,
          limit: intArg(run.opts.limit, '--limit', { min: 1, max: 10_000 }),
        };
        const events = (await listWorkerEvents(ctx, filter)).reverse();
        if (!run.opts.follow) return events;
        run.printed = true;
        const print = (e: WorkerEventRow) => (run.json ? run.emit(e) : process.stdout.write(`${line(e)}\n`));
        events.forEach(print);
        let afterId = events.length > 0 ? events[events.length - 1]!.id : (await listWorkerEvents(ctx, { ...filter, limit: 1 }))[0]?.id ?? 0;
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        while (!stop.signal.aborted) {
          await ctx.clock.sleep(1000, stop.signal);
          const fresh = await listWorkerEvents(ctx, { ...filter, since: undefined, limit: 1000, afterId });
          fresh.forEach(print);
          if (fresh.length > 0) afterId = fresh[fresh.length - 1]!.id;
        }
        return undefined;
      }, (events) => (events ?? []).length === 0 ? 'No worker events match. Is `campaign worker` running?' : (events ?? []).map(line).join('\n')),
    );
}
