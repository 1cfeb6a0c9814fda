// `campaign resolve <campaign> --resend|--skip`: the operator's decision on sends whose outcome
// could not be proven (promise 2: an UNKNOWN row is re-sent only by this explicit command).
import { sql } from 'kysely';
import { recordActivity } from '../audit/audit.repository.js';
import { getCampaign } from '../campaigns/campaign.repository.js';
import type { Context } from '../context.js';
import { CampaignError } from '../errors.js';
import { notifyWorkers } from '../campaigns/campaign-control.js';

export interface ResolveResult {
  campaignId: number;
  decision: 'resend' | 'skip';
  queueRows: number;
  testRecipients: number;
}

export async function resolveUnknown(ctx: Context, ref: string, decision: 'resend' | 'skip', options: { ids?: number[] } = {}): Promise<ResolveResult> {
  const campaign = await getCampaign(ctx.db, ref);
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.clock.now();
    const set = decision === 'resend'
      ? sql`status = 'PENDING', next_attempt_at = null, claimed_at = null, claimed_by = null, last_error = 'operator chose to resend an unknown outcome', updated_at = ${now}`
      : sql`status = 'SKIPPED', skip_reason = 'operator skipped an unknown outcome', updated_at = ${now}`;
    const idFilter = options.ids && options.ids.length > 0 ? sql`and id = any(${options.ids}::bigint[])` : sql``;
    const q = await sql`update send_queue set ${set} where campaign_id = ${campaign.id} and status = 'UNKNOWN' ${idFilter}`.execute(trx);
    const t = await sql`update campaign_test_run_recipients set ${set}
                        where status = 'UNKNOWN' and test_run_id in (select id from campaign_test_runs where campaign_id = ${campaign.id}) ${idFilter}`.execute(trx);
    const result: ResolveResult = { campaignId: campaign.id, decision, queueRows: Number(q.numAffectedRows ?? 0), testRecipients: Number(t.numAffectedRows ?? 0) };
    if (result.queueRows + result.testRecipients === 0) {
      throw new CampaignError('NOT_FOUND', `Campaign ${campaign.id} has no UNKNOWN sends${options.ids?.length ? ' with those ids' : ''} to resolve.`, { campaignId: campaign.id });
    }
    if (decision === 'resend') {
      // A completed campaign with rows to resend runs again so the worker picks them up.
      await sql`update campaigns set status = 'RUNNING', completed_at = null, updated_at = ${now} where id = ${campaign.id} and status = 'COMPLETED'`.execute(trx);
      await sql`update campaign_test_runs set status = 'RUNNING', completed_at = null, updated_at = ${now}
                where campaign_id = ${campaign.id} and status = 'COMPLETED'
                  and exists (select 1 from campaign_test_run_recipients r where r.test_run_id = campaign_test_runs.id and r.status = 'PENDING')`.execute(trx);
      await notifyWorkers(trx, `campaign:${campaign.id}`);
    }
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: `campaign.resolve_${decision}`,
        entityType: 'campaign',
        entityId: campaign.id,
        campaignId: campaign.id,
        summary: `${decision === 'resend' ? 'Resend' : 'Skip'} ${result.queueRows + result.testRecipients} send(s) with an unknown outcome`,
        details: { ...result, ids: options.ids ?? null },
      },
      ctx.config,
    );
    return result;
  });
}
