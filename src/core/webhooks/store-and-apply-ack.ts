// The webhook's common path: a `message.ack`, or a `message.any` from us, stored and applied in
// one round trip by the `campaign_ingest_ack` function, generated from the ack transition table
// (ack-transitions.ts, where the promises it keeps are listed; installed by a migration). Measured by bench/webhook.ts: the transactional path
// (BEGIN, insert + raw-id lock, lookup, update, mark, COMMIT) spent most of each request waiting
// on round trips; one statement is its own transaction, so the lock still lasts until the end.
import { sql } from 'kysely';
import type { Context } from '../context.js';
import type { WahaEvent } from './parse-waha-event.js';

export interface StoredAck {
  /** Null for a duplicate delivery (the envelope id was already stored; nothing was done). */
  messageEventId: number | null;
  matchedRows: number;
  advanced: number;
}

/** The events this path takes: ours, with a raw id. Every other event takes the transaction. */
export function takesAckFastPath(e: WahaEvent): boolean {
  if (!e.rawId) return false;
  if (e.event === 'message.ack') return e.fromMe !== false;
  if (e.event === 'message.any') return e.fromMe === true;
  return false;
}

/**
 * Stores and applies one ack-like event. Undefined, with nothing stored, for a `message.any` that
 * matches no row while its chat has an UNKNOWN row: reconciling it is the transactional path's job.
 */
export async function storeAndApplyAck(db: Context['db'], e: WahaEvent, raw: string, now: Date): Promise<StoredAck | undefined> {
  const r = await sql<{ message_event_id: string | null; matched_rows: number; advanced: number; needs_reconcile: boolean }>`
    select * from campaign_ingest_ack(${e.eventId}, ${e.event}, ${e.session}, ${now}, ${raw}, ${e.rawId}, ${e.chatId}, ${e.fromMe}, ${e.ack}, ${e.ackReason})`.execute(db);
  const row = r.rows[0]!;
  if (row.needs_reconcile) return undefined;
  return { messageEventId: row.message_event_id === null ? null : Number(row.message_event_id), matchedRows: Number(row.matched_rows), advanced: Number(row.advanced) };
}
