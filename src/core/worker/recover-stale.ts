// A worker that died between claim and result (kill -9, a lost machine) leaves SENDING rows.
// They may have reached WAHA, so they become UNKNOWN (promise 2), never PENDING.
import { sql } from 'kysely';
import type { Context } from '../context.js';
import { liftDeadHolds } from './send-slot.js';
import { recordWorkerEvent } from './worker-events.js';

export interface StaleOptions {
  /** A live worker records an outcome within its request timeout; older SENDING rows are abandoned. */
  staleAfterMs: number;
  /** Heartbeats older than this mark a worker dead. */
  heartbeatStaleMs: number;
  worker: string;
  /** This worker's start: SENDING rows of an earlier process with the same name are abandoned too. */
  startedAt: Date;
}

export async function recoverStaleSends(ctx: Context, o: StaleOptions): Promise<number> {
  const now = ctx.clock.now();
  const claimedBefore = new Date(now.getTime() - o.staleAfterMs);
  const seenBefore = new Date(now.getTime() - o.heartbeatStaleMs);
  let total = 0;
  const holders = new Set<string>();
  for (const [table, idCol, ownerCol] of [
    [sql`send_queue`, 'queue_id', sql`campaign_id`],
    [sql`campaign_test_run_recipients`, 'test_recipient_id', sql`test_run_id`],
  ] as const) {
    const rows = await sql<{ id: number; owner: number; claimed_by: string | null }>`
      update ${table} r set status = 'UNKNOWN', last_error = 'worker stopped between claim and result', updated_at = ${now}
      where r.status = 'SENDING'
        and (r.claimed_by is distinct from ${o.worker} or r.claimed_at < ${o.startedAt})
        and (r.claimed_at < ${claimedBefore}
             or r.claimed_by = ${o.worker}
             or not exists (select 1 from worker_heartbeats h where h.name = r.claimed_by and h.state <> 'stopped' and h.last_seen_at >= ${seenBefore}))
      returning r.id, r.${ownerCol} as owner, r.claimed_by`.execute(ctx.db);
    for (const r of rows.rows) {
      if (r.claimed_by) holders.add(r.claimed_by);
      await recordWorkerEvent(ctx.db, {
        at: now, event: 'unknown_outcome', worker: o.worker, status: 'UNKNOWN',
        reason: `worker ${r.claimed_by ?? '?'} stopped between claim and result; the message may have been sent`,
        ...(idCol === 'queue_id' ? { queueId: r.id, campaignId: r.owner } : { testRecipientId: r.id, testRunId: r.owner }),
      });
    }
    total += rows.rows.length;
  }
  // promise 1: the sessions those workers held wait their delay from now, not until the hold expires.
  await liftDeadHolds(ctx.db, [...holders], now);
  return total;
}
