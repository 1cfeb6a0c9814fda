// `message.ack` and `message.any` (fromMe) for messages we sent: matched to queue and test-run
// rows on the raw id (contract §7.8), moving them forward only (apply-acks.ts). An ack whose id
// no row carries yet stays in message_events; the send result applies it when it lands.
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { advanceByAck, lockRawId } from '../worker/apply-acks.js';
import type { RecipientKind } from '../worker/recipient-tables.js';

export interface MatchedRow {
  kind: RecipientKind;
  id: number;
}

export async function rowsWithRawId(trx: Transaction<Database>, rawId: string): Promise<MatchedRow[]> {
  const r = await sql<{ kind: RecipientKind; id: number }>`
    select 'campaign' as kind, id from send_queue where waha_raw_id = ${rawId}
    union all
    select 'test', id from campaign_test_run_recipients where waha_raw_id = ${rawId}`.execute(trx);
  return r.rows.map((x) => ({ kind: x.kind, id: Number(x.id) }));
}

export async function markMatched(trx: Transaction<Database>, messageEventId: number, row: MatchedRow): Promise<void> {
  await trx
    .updateTable('message_events')
    .set(row.kind === 'test' ? { matched: true, test_recipient_id: row.id } : { matched: true, queue_id: row.id })
    .where('id', '=', messageEventId)
    .execute();
}

export interface AckEffect {
  /** Rows that carry this raw id (empty: kept for when the send result lands). */
  rows: MatchedRow[];
  /** Rows whose state moved forward. */
  advanced: number;
}

/** Applies one ack level to whatever rows carry the raw id; forward only. */
export async function applyAckEvent(
  trx: Transaction<Database>, messageEventId: number, rawId: string, ack: number | null, at: Date, options: { locked?: boolean; reason?: string | null } = {},
): Promise<AckEffect> {
  // Taken before looking for rows: see lockRawId for the race with the send result it closes.
  // (ingestWahaEvent takes it with the insert, in one statement.)
  if (!options.locked) await lockRawId(trx, rawId);
  const rows = await rowsWithRawId(trx, rawId);
  let advanced = 0;
  for (const row of rows) {
    if (ack !== null && (await advanceByAck(trx, row.kind, row.id, ack, at, options.reason ?? null))) advanced++;
  }
  if (rows[0]) await markMatched(trx, messageEventId, rows[0]);
  return { rows, advanced };
}
