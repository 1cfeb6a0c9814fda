// WAHA answered that the session is not usable (422, SCAN_QR_CODE, FAILED…): the request was
// refused before anything was sent, so the slot stops counting toward the limits, and the session
// pauses for every worker and preview until WAHA reports it WORKING again (run-worker.ts probes
// it). One rule for the worker's outcome and for previews.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SendSlot } from './send-slot.js';

export async function recordSessionDown(
  db: Kysely<Database> | Transaction<Database>,
  slot: SendSlot,
  down: { reason: string; status?: string },
  now: Date,
): Promise<void> {
  await sql`
    with uncounted as (delete from session_sends where id = ${slot.sessionSendId})
    update session_pacing set not_working_reason = ${down.reason}, waha_status = ${down.status ?? 'UNKNOWN'}, waha_status_at = ${now}, updated_at = ${now}
    where session = ${slot.session}`.execute(db);
}
