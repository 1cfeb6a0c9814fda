// Stopping every unsent queue row of one contact: called by opt-out and suppression here, and by
// the webhook when an inbound opt-out keyword arrives (promise 4).
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

export interface SkippedRows {
  /** Rows moved to SKIPPED. */
  count: number;
  /** The campaigns those rows belonged to, ascending. */
  campaignIds: number[];
}

/**
 * promise 4: marks the contact's PENDING (and PAUSED: a paused campaign's rows are just as unsent)
 * send_queue rows SKIPPED with `skip_reason`, in the caller's transaction, which should already
 * have written the contact's new opted_out / suppressed flag.
 *
 * Rows a worker holds right now are passed over (SKIP LOCKED) rather than waited for: the claim
 * locks its queue row and then reads the contact FOR SHARE, so waiting here while holding the
 * contact row would deadlock with it. It is also unnecessary: that claim's FOR SHARE read waits for
 * this transaction and then sees the new flag, and skips the row itself (worker/claim-next.ts).
 * SENDING rows are already in WAHA's hands and cannot be stopped.
 */
export async function skipPendingRowsForContact(trx: Transaction<Database>, contactId: number, reason: string, now: Date): Promise<SkippedRows> {
  const r = await sql<{ campaign_id: number }>`
    update send_queue q
       set status = 'SKIPPED', skip_reason = ${reason}, next_attempt_at = null, updated_at = ${now}
     where q.id in (
       select id from send_queue
        where contact_id = ${contactId} and status in ('PENDING', 'PAUSED')
        for update skip locked
     )
    returning q.campaign_id`.execute(trx);
  const campaignIds = [...new Set(r.rows.map((x) => Number(x.campaign_id)))].sort((a, b) => a - b);
  return { count: r.rows.length, campaignIds };
}
