// start, pause, resume, cancel. promise 5: the state change commits under the campaign row lock,
// and the worker's claim re-reads that row with FOR SHARE, so once a pause or cancel commits no
// new send starts (a send already claimed finishes).
import { sql, type Transaction } from 'kysely';
import { recordActivity } from '../audit/audit.repository.js';
import type { Context } from '../context.js';
import type { CampaignState, Database } from '../db/schema.js';
import { CampaignError } from '../errors.js';
import { type Campaign, lockCampaign, toCampaign } from './campaign.repository.js';
import { assertCanDo, type CampaignAction } from './campaign-transitions.js';

export const WORK_CHANNEL = 'campaign_work';

/** Wakes sleeping workers early; a hint only: correctness never depends on it. */
export async function notifyWorkers(db: Transaction<Database> | Context['db'], payload = ''): Promise<void> {
  await sql`select pg_notify(${WORK_CHANNEL}, ${payload})`.execute(db);
}

async function transition(
  ctx: Context,
  ref: string,
  action: CampaignAction,
  to: CampaignState,
  options: { reason?: string; check?: (trx: Transaction<Database>, c: Campaign) => Promise<void> } = {},
): Promise<Campaign> {
  return ctx.db.transaction().execute(async (trx) => {
    const current = await lockCampaign(trx, ref);
    assertCanDo(current, action);
    if (options.check) await options.check(trx, current);
    const now = ctx.clock.now();
    const set: Record<string, unknown> = { status: to, updated_at: now, updated_by: ctx.actor };
    if (action === 'start') set.started_at = now;
    if (action === 'pause') Object.assign(set, { paused_at: now, pause_reason: options.reason ?? `paused by ${ctx.actor}`, auto_paused: false });
    if (action === 'resume') Object.assign(set, { pause_reason: null, auto_paused: false });
    if (action === 'cancel') Object.assign(set, { cancelled_at: now, cancel_reason: options.reason ?? null });
    if (action === 'start' || action === 'cancel') set.content_frozen_at = sql`coalesce(content_frozen_at, ${now})`;
    const row = await trx.updateTable('campaigns').set(set).where('id', '=', current.id).returningAll().executeTakeFirstOrThrow();
    if (action === 'cancel') {
      // Rows that never left are skipped; rows in flight or unknown keep their state.
      await trx
        .updateTable('send_queue')
        .set({ status: 'SKIPPED', skip_reason: 'campaign cancelled', updated_at: now })
        .where('campaign_id', '=', current.id)
        .where('status', 'in', ['PENDING', 'PAUSED'])
        .execute();
    }
    const campaign = toCampaign(row);
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: `campaign.${action}`,
        entityType: 'campaign',
        entityId: campaign.id,
        campaignId: campaign.id,
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} "${campaign.name}"${options.reason ? `: ${options.reason}` : ''}`,
        details: { from: current.status, to, reason: options.reason ?? null },
      },
      ctx.config,
    );
    if (to === 'RUNNING') await notifyWorkers(trx, `campaign:${campaign.id}`);
    return campaign;
  });
}

export async function startCampaign(ctx: Context, ref: string, reason?: string): Promise<Campaign> {
  return transition(ctx, ref, 'start', 'RUNNING', {
    reason,
    check: async (trx, c) => {
      const pending = await trx
        .selectFrom('send_queue')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('campaign_id', '=', c.id)
        .where('status', '=', 'PENDING')
        .executeTakeFirstOrThrow();
      if (c.queueBuiltAt === null || Number(pending.n) === 0) {
        throw new CampaignError(
          'INVALID_TRANSITION',
          c.queueBuiltAt === null
            ? `Campaign ${c.id} has no queue yet: run \`campaign queue build ${c.id}\` first.`
            : `Campaign ${c.id} has no PENDING rows to send (\`campaign queue show ${c.id}\`); import contacts and run \`campaign queue build ${c.id}\` again.`,
          { campaignId: c.id },
        );
      }
    },
  });
}

export const pauseCampaign = (ctx: Context, ref: string, reason?: string) => transition(ctx, ref, 'pause', 'PAUSED', { reason });
export const resumeCampaign = (ctx: Context, ref: string, reason?: string) => transition(ctx, ref, 'resume', 'RUNNING', { reason });
export const cancelCampaign = (ctx: Context, ref: string, reason?: string) => transition(ctx, ref, 'cancel', 'CANCELLED', { reason });
