// Delivery acks move recipient rows forward only: SENT_API_ACCEPTED → DELIVERED → READ, never
// back (a late DELIVERED never overwrites READ). Matched on WAHA's raw message id, since the chat
// part of a serialized id differs between engines (contract §5.1).
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { type RecipientKind, recipientTable, rowIdColumn } from './recipient-tables.js';

/** WAHA ack numbers: ERROR=-1, PENDING=0, SERVER=1, DEVICE=2, READ=3, PLAYED=4. */
export function stateForAck(ack: number): 'DELIVERED' | 'READ' | null {
  if (ack >= 3) return 'READ';
  if (ack === 2) return 'DELIVERED';
  return null;
}

/** Moves one row forward to the state an ack proves; returns whether it changed. */
export async function advanceByAck(trx: Transaction<Database>, kind: RecipientKind, id: number, ack: number, at: Date): Promise<boolean> {
  const target = stateForAck(ack);
  if (!target) return false;
  const from = target === 'READ' ? sql`('SENT_API_ACCEPTED','DELIVERED','UNKNOWN')` : sql`('SENT_API_ACCEPTED','UNKNOWN')`;
  const r = await sql`update ${recipientTable(kind)}
      set status = ${target},
          delivered_at = coalesce(delivered_at, ${at}),
          read_at = ${target === 'READ' ? sql`coalesce(read_at, ${at})` : sql`read_at`},
          sent_at = coalesce(sent_at, ${at}),
          updated_at = ${at}
      where id = ${id} and status in ${from}`.execute(trx);
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
  const best = await sql<{ ack: number | null }>`
    with mark as (update message_events set matched = true, ${column} = ${id} where waha_raw_id = ${rawId} and not matched)
    select max(ack) as ack from message_events where waha_raw_id = ${rawId} and event in ('message.ack', 'message.any') and coalesce(from_me, true)`.execute(trx);
  const ack = best.rows[0]?.ack;
  if (ack !== null && ack !== undefined) await advanceByAck(trx, kind, id, ack, now);
}
