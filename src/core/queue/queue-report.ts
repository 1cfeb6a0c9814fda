// What is in a campaign's queue: counts by state, and who was left out and why.
import { getCampaign } from '../campaigns/campaign.repository.js';
import type { Context } from '../context.js';
import { EXCLUSION_REASONS, type ExclusionReason, RECIPIENT_STATES, type RecipientState } from '../db/schema.js';

export interface QueueSummary {
  campaignId: number;
  campaignName: string;
  status: string;
  queueBuiltAt: string | null;
  total: number;
  byState: Record<RecipientState, number>;
  excluded: Record<ExclusionReason, number>;
}

export async function queueSummary(ctx: Context, ref: string): Promise<QueueSummary> {
  const campaign = await getCampaign(ctx.db, ref);
  const states = await ctx.db
    .selectFrom('send_queue')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('campaign_id', '=', campaign.id)
    .groupBy('status')
    .execute();
  const reasons = await ctx.db
    .selectFrom('queue_exclusions')
    .select(['reason', (eb) => eb.fn.countAll<number>().as('n')])
    .where('campaign_id', '=', campaign.id)
    .groupBy('reason')
    .execute();
  const byState = Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<RecipientState, number>;
  for (const r of states) byState[r.status] = Number(r.n);
  const excluded = Object.fromEntries(EXCLUSION_REASONS.map((s) => [s, 0])) as Record<ExclusionReason, number>;
  for (const r of reasons) excluded[r.reason] = Number(r.n);
  return {
    campaignId: campaign.id,
    campaignName: campaign.name,
    status: campaign.status,
    queueBuiltAt: campaign.queueBuiltAt,
    total: Object.values(byState).reduce((a, b) => a + b, 0),
    byState,
    excluded,
  };
}

export interface Exclusion {
  contactId: number;
  name: string | null;
  phoneRaw: string | null;
  chatId: string | null;
  reason: ExclusionReason;
  detail: string | null;
}

export async function listExclusions(
  ctx: Context,
  ref: string,
  options: { reason?: ExclusionReason; limit?: number; offset?: number } = {},
): Promise<{ campaignId: number; total: number; exclusions: Exclusion[] }> {
  const campaign = await getCampaign(ctx.db, ref);
  let q = ctx.db
    .selectFrom('queue_exclusions as e')
    .innerJoin('contacts as c', 'c.id', 'e.contact_id')
    .where('e.campaign_id', '=', campaign.id);
  if (options.reason) q = q.where('e.reason', '=', options.reason);
  const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const rows = await q
    .select(['e.contact_id', 'c.name', 'c.phone_raw', 'e.chat_id', 'e.reason', 'e.detail'])
    .orderBy('e.reason')
    .orderBy('e.contact_id')
    .limit(options.limit ?? 100)
    .offset(options.offset ?? 0)
    .execute();
  return {
    campaignId: campaign.id,
    total: Number(total.n),
    exclusions: rows.map((r) => ({ contactId: r.contact_id, name: r.name, phoneRaw: r.phone_raw, chatId: r.chat_id, reason: r.reason, detail: r.detail })),
  };
}
