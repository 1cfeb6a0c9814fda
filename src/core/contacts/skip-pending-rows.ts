// Stopping every unsent row of one number: called by opt-out and suppression here, and by the
// webhook when an inbound opt-out keyword arrives (promise 4).
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

export interface SkippedRows {
  /** Campaign queue rows moved to SKIPPED. */
  count: number;
  /** The campaigns those rows belonged to, ascending. */
  campaignIds: number[];
  /** Test-run recipient rows moved to SKIPPED. */
  testRows: number;
  /** The test runs those rows belonged to, ascending. */
  testRunIds: number[];
}

const ids = (rows: Array<{ owner: number | string }>) => [...new Set(rows.map((x) => Number(x.owner)))].sort((a, b) => a - b);

/**
 * promise 4: marks every PENDING (and PAUSED: a paused campaign's rows are just as unsent) row for
 * the number SKIPPED with `skip_reason`, in every campaign queue and every test run, in the
 * caller's transaction, which should already hold the number's row (lockNumber) with its new
 * block written. `contactId` also stops that contact's queue rows built for an older number.
 *
 * Rows a worker holds right now are passed over (SKIP LOCKED) rather than waited for: the claim
 * locks its recipient row and then the number's row FOR SHARE, so waiting here while holding the
 * number's row would deadlock with it. It is also unnecessary: that claim waits for this
 * transaction, then sees the block, and skips the row itself (worker/claim-next.ts). SENDING rows
 * are already in WAHA's hands and cannot be stopped.
 */
export async function skipPendingRowsOfNumber(
  trx: Transaction<Database>,
  target: { chatId: string | null; contactId?: number | null },
  reason: string,
  now: Date,
): Promise<SkippedRows> {
  const { chatId, contactId = null } = target;
  if (chatId === null && contactId === null) return { count: 0, campaignIds: [], testRows: 0, testRunIds: [] };
  const queue = await sql<{ owner: number }>`
    update send_queue q
       set status = 'SKIPPED', skip_reason = ${reason}, next_attempt_at = null, updated_at = ${now}
     where q.id in (
       select id from send_queue
        where (chat_id = ${chatId} or contact_id = ${contactId}) and status in ('PENDING', 'PAUSED')
        for update skip locked
     )
    returning q.campaign_id as owner`.execute(trx);
  const tests =
    chatId === null
      ? { rows: [] }
      : await sql<{ owner: number }>`
    update campaign_test_run_recipients r
       set status = 'SKIPPED', skip_reason = ${reason}, next_attempt_at = null, updated_at = ${now}
     where r.id in (
       select id from campaign_test_run_recipients
        where chat_id = ${chatId} and status in ('PENDING', 'PAUSED')
        for update skip locked
     )
    returning r.test_run_id as owner`.execute(trx);
  return { count: queue.rows.length, campaignIds: ids(queue.rows), testRows: tests.rows.length, testRunIds: ids(tests.rows) };
}
