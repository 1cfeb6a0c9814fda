// `campaign start | pause | resume | cancel <campaign> [--reason]`, `campaign running` and
// `campaign resolve <campaign> --resend|--skip`. Pause and cancel bind from the next claim: a
// send already in flight finishes.
import type { Command } from 'commander';
import type { Campaign } from '../core/campaigns/campaign.repository.js';
import { CampaignError } from '../core/errors.js';
import type { RunningItem } from '../core/worker/running-overview.js';
import type { CliKit } from './kit.js';
import { keyValue, percent, table, when } from './render.js';

function presentCampaign(c: Campaign): string {
  return keyValue([
    ['campaign', `${c.id} ${c.name}`],
    ['status', c.status],
    ['reason', (c as any).pauseReason ?? (c as any).cancelReason ?? ''],
  ]);
}

export function presentRunning(r: { items: RunningItem[] }): string {
  if (r.items.length === 0) return 'Nothing is running or paused. Start a campaign with `campaign start <campaign>` or a test run with `campaign test start`.';
  const rows = r.items.map((i) => [
    i.kind === 'test' ? `test ${i.id}` : i.id,
    i.name,
    i.status + (i.autoPaused ? ' (auto)' : ''),
    i.session,
    `${i.done}/${i.total} ${percent(i.progress)}`,
    `${i.counts.PENDING} pending, ${i.counts.SENT_API_ACCEPTED + i.counts.DELIVERED + i.counts.READ} sent, ${i.counts.FAILED} failed${i.unknown ? `, ${i.unknown} UNKNOWN` : ''}`,
    i.status === 'PAUSED' && i.pauseReason ? i.pauseReason : i.latest ? `${i.latest.event}: ${i.latest.reason ?? ''}` : 'no worker decision yet: is `campaign worker` running?',
    i.latest?.nextAttemptAt ? when(i.latest.nextAttemptAt) : '',
    i.forecastFinishAt ? when(i.forecastFinishAt) : '',
  ]);
  return table(['id', 'name', 'status', 'session', 'progress', 'rows', 'latest worker reason', 'next attempt', 'forecast finish'], rows);
}

export function register(program: Command, k: CliKit): void {
  const control = async () => import('../core/campaigns/campaign-control.js');
  for (const [name, description] of [
    ['start', 'Start sending an approved campaign whose queue is built'],
    ['pause', 'Pause a running campaign (binds from the next claim; a send in flight finishes)'],
    ['resume', 'Resume a paused campaign (also one that paused itself)'],
    ['cancel', 'Cancel a campaign: rows that never left are skipped, sent rows are kept'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<campaign>', 'campaign id or name')
      .option('--reason <text>', 'why, for the audit log and the dashboard')
      .action(
        k.action(async (run, [ref]) => {
          const c = await control();
          const fn = { start: c.startCampaign, pause: c.pauseCampaign, resume: c.resumeCampaign, cancel: c.cancelCampaign }[name];
          return fn(await run.ctx(), ref!, run.opts.reason);
        }, presentCampaign),
      );
  }
  program
    .command('running')
    .description('Running and paused campaigns and test runs: progress, latest worker reason, next attempt')
    .action(k.action(async (run) => (await import('../core/worker/running-overview.js')).runningOverview(await run.ctx()), presentRunning));
  program
    .command('resolve')
    .description('Decide on sends whose outcome is unknown (WAHA may or may not have sent them)')
    .argument('<campaign>', 'campaign id or name')
    .option('--resend', 'send them again (someone may get the message twice)')
    .option('--skip', 'mark them skipped (someone may not get it at all)')
    .option('--ids <ids>', 'only these queue or test-recipient row ids, comma separated')
    .action(
      k.action(async (run, [ref]) => {
        if (Boolean(run.opts.resend) === Boolean(run.opts.skip)) {
          throw new CampaignError('USAGE', 'Give exactly one of --resend or --skip. `campaign report <campaign>` lists the UNKNOWN rows and what is known about each.', {});
        }
        const ids = run.opts.ids === undefined ? undefined : String(run.opts.ids).split(',').map((s) => {
          const n = Number(s.trim());
          if (!Number.isSafeInteger(n) || n < 1) throw new CampaignError('USAGE', `--ids must be row ids separated by commas; "${s}" is not one`, {});
          return n;
        });
        const { resolveUnknown } = await import('../core/worker/resolve-unknown.js');
        return resolveUnknown(await run.ctx(), ref!, run.opts.resend ? 'resend' : 'skip', { ids });
      }, (r) => `Campaign ${r.campaignId}: ${r.queueRows + r.testRecipients} unknown send(s) ${r.decision === 'resend' ? 'queued to send again' : 'skipped'}.`),
    );
}
