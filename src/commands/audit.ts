// `campaign audit [--actor] [--action] [--campaign] [--since]`: the append-only admin activity log.
import type { Command } from 'commander';
import { type Activity, listActivity } from '../core/audit/audit.repository.js';
import { getCampaignId } from '../core/campaigns/campaign.repository.js';
import { parseSince } from '../core/time/parse-since.js';
import { intArg, type CliKit } from './kit.js';
import { table } from './render.js';

function present(r: { activity: Activity[] }): string {
  return table(
    ['time', 'actor', 'action', 'entity', 'campaign', 'summary'],
    r.activity.map((a) => [a.at.replace('T', ' ').slice(0, 19), a.actor, a.action, a.entityType ? `${a.entityType} ${a.entityId ?? ''}` : '', a.campaignId ?? '', a.summary]),
    { empty: 'No admin activity matches.' },
  );
}

export function register(program: Command, k: CliKit): void {
  program
    .command('audit')
    .description('The admin activity log (append-only)')
    .option('--actor <name>', 'only this actor')
    .option('--action <action>', 'only this action (e.g. campaign.approve, or campaign.* for all campaign actions)')
    .option('--campaign <id>', 'only this campaign (id or name)')
    .option('--since <when>', 'only after this time: an ISO date/time or a duration like 2h, 3d')
    .option('--limit <n>', 'at most this many rows', '100')
    .action(
      k.action(async (run) => {
        const ctx = await run.ctx();
        const o = run.opts;
        // --actor is also the global "who is acting" flag; here it filters.
        const activity = await listActivity(ctx.db, {
          actor: o.actor,
          action: o.action,
          campaignId: o.campaign ? await getCampaignId(ctx.db, o.campaign) : undefined,
          since: o.since ? parseSince(o.since, ctx.clock.now()) : undefined,
          limit: intArg(o.limit, '--limit', { min: 1, max: 10000 }),
        });
        return { activity };
      }, present),
    );
}
