// Delivery acks move recipient rows forward only, by the one transition table in
// core/webhooks/ack-transitions.ts (the webhook's SQL fast path is generated from the same table).
// Matched on WAHA's raw message id, since the chat part of a serialized id differs between engines
// (contract §5.1).
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { ackOutcome, ackUpdateStatement } from '../webhooks/ack-transitions.js';
import { parseWahaEvent } from '../webhooks/parse-waha-event.js';
import { RECIPIENT_TABLE, type RecipientKind, rowIdColumn } from './recipient-tables.js';

/**
 * Moves one row to the state an ack proves (ACK_TRANSITIONS); returns whether it changed.
 * `reason` is WAHA's account of an ERROR ack, kept in last_error.
 */
export async function advanceByAck(trx: Transaction<Database>, kind: RecipientKind, id: number, ack: number | null, at: Date, reason: string | null = null): Promise<boolean> {
  const statement = ackUpdateStatement(RECIPIENT_TABLE[kind], id, ack, at, reason);
  if (!statement) return false;
  const r = await statement.execute(trx);
  return Number(r.numAffectedRows ?? 0) > 0;
}

/**
 * Serialises the two writers that meet on one raw id: the send result (this file) and the ack
 * webhook (core/webhooks). Without it, an ack committed while the send result's transaction is
 * open is seen by neither side and lost; with it, whichever takes the lock second sees the other.
 */
export async function lockRawId(trx: Transaction<Database>, rawId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('campaign.raw_id'), hashtext(${rawId}))`.execute(trx);
}

/** Applies acks that were stored before the send result was known (acks can beat the response). */
export async function applyKnownAcks(trx: Transaction<Database>, kind: RecipientKind, id: number, rawId: string, now: Date): Promise<void> {
  await lockRawId(trx, rawId);
  // After the lock, in a statement of its own (its snapshot must include acks committed while
  // this waited). The CTE marks the stored events matched in the same round trip; the SELECT
  // reads the same snapshot, so it sees every ack whether or not it was matched before.
  const column = rowIdColumn(kind);
  const stored = await sql<{ ack: number; raw: string | null }>`
    with mark as (update message_events set matched = true, ${column} = ${id} where waha_raw_id = ${rawId} and not matched)
    select distinct on (ack) ack, case when ack = -1 then raw end as raw from message_events
    where waha_raw_id = ${rawId} and event in ('message.ack', 'message.any') and coalesce(from_me, true) and ack is not null
    order by ack, id`.execute(trx);
  // Every stored ack, not only the highest number: ERROR (-1) is the lowest number and still moves
  // an accepted row. The table is forward only, so the order of application does not change the end state.
  for (const e of stored.rows) {
    if (!ackOutcome(e.ack)) continue;
    await advanceByAck(trx, kind, id, e.ack, now, e.raw === null ? null : ackReasonOf(e.raw));
  }
}

function ackReasonOf(raw: string): string | null {
  try {
    return parseWahaEvent(raw).ackReason;
  } catch {
    return null;
  }
}
