// `campaign queue build|show|exclusions <campaign>`
import type { Command } from 'commander';
import { EXCLUSION_REASONS, type ExclusionReason } from '../core/db/schema.js';
import { CampaignError } from '../core/errors.js';
import { buildQueue, type QueueBuildResult } from '../core/queue/build-queue.js';
import { type Exclusion, listExclusions, queueSummary, type QueueSummary } from '../core/queue/queue-report.js';
import { type CliKit, intArg } from './kit.js';
import { keyValue, table } from './render.js';

function presentBuild(r: QueueBuildResult): string {
  const excluded = Object.entries(r.excluded).filter(([, n]) => n > 0);
  return keyValue([
    ['campaign', r.campaignId],
    ['brand', r.brand],
    ['contacts of the brand', r.candidates],
    ['queued now', r.queued],
    ['already queued', r.alreadyQueued],
    ['excluded', excluded.length ? excluded.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'],
    ['queue total', r.totalQueued],
    ['frequency cap', r.frequencyCapDays ? `${r.frequencyCapDays} day(s)` : 'off'],
  ]);
}

function presentSummary(s: QueueSummary): string {
  const states = Object.entries(s.byState).filter(([, n]) => n > 0);
  const excluded = Object.entries(s.excluded).filter(([, n]) => n > 0);
  return keyValue([
    ['campaign', `${s.campaignId} "${s.campaignName}" (${s.status})`],
    ['built', s.queueBuiltAt ?? 'not yet: run `campaign queue build`'],
    ['rows', s.total],
    ['by state', states.map(([k, n]) => `${k} ${n}`).join(', ') || '—'],
    ['excluded', excluded.map(([k, n]) => `${k} ${n}`).join(', ') || 'none'],
  ]);
}

function presentExclusions(r: { total: number; exclusions: Exclusion[] }): string {
  return `${table(
    ['contact', 'name', 'phone', 'chat id', 'reason', 'detail'],
    r.exclusions.map((e) => [e.contactId, e.name, e.phoneRaw, e.chatId, e.reason, e.detail]),
    { empty: 'Nobody was excluded.' },
  )}\n${r.exclusions.length} of ${r.total}`;
}

export function register(program: Command, k: CliKit): void {
  const queue = program.command('queue').description('The send queue of an approved campaign: build, show, exclusions');
  queue
    .command('build')
    .description('Queue every eligible contact of the campaign brand (again: adds only newly eligible ones)')
    .argument('<campaign>', 'id or name')
    .action(k.action(async (run, [ref]) => buildQueue(await run.ctx(), ref!), presentBuild));
  queue
    .command('show')
    .description('Counts by state and exclusions by reason')
    .argument('<campaign>', 'id or name')
    .action(k.action(async (run, [ref]) => queueSummary(await run.ctx(), ref!), presentSummary));
  queue
    .command('exclusions')
    .description('Contacts left out of the queue, with the reason')
    .argument('<campaign>', 'id or name')
    .option('--reason <reason>', `only one reason: ${EXCLUSION_REASONS.join(', ')}`)
    .option('--limit <n>', 'at most this many', '100')
    .option('--offset <n>', 'skip this many', '0')
    .action(
      k.action(async (run, [ref]) => {
        const o = run.opts;
        if (o.reason && !(EXCLUSION_REASONS as readonly string[]).includes(o.reason)) {
          throw new CampaignError('USAGE', `--reason must be one of ${EXCLUSION_REASONS.join(', ')}; got "${o.reason}".`);
        }
        return listExclusions(await run.ctx(), ref!, {
          reason: o.reason as ExclusionReason | undefined,
          limit: intArg(o.limit, '--limit', { min: 1, max: 100000 }),
          offset: intArg(o.offset, '--offset'),
        });
      }, presentExclusions),
    );
}
