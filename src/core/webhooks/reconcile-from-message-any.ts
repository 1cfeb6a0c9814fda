// A `message.any` from us whose raw id no row carries may be the proof for an UNKNOWN row (a send
// whose answer never came): the same rule as worker/reconcile-unknown.ts, applied as soon as the
// event arrives instead of on the worker's next maintenance pass (promise 2: proven, not guessed).
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { RecipientKind } from '../worker/recipient-tables.js';
import { settleProvenUnknown } from '../worker/reconcile-unknown.js';
import { markMatched } from './apply-ack-event.js';

/** Clock skew allowed between our claim time and WAHA's message time (as in reconcile-unknown.ts). */
const SKEW_MS = 10_000;

interface UnknownRow {
  kind: RecipientKind;
  id: number;
  owner: number;
  campaign_id: number;
  session: string;
}

export interface Reconciled {
  kind: RecipientKind;
  id: number;
  campaignId: number;
}

export async function reconcileFromMessageAny(
  trx: Transaction<Database>,
  e: { messageEventId: number; rawId: string; messageId: string | null; chatId: string; session: string | null; messageAt: Date },
  now: Date,
): Promise<Reconciled | undefined> {
  const latestClaim = new Date(e.messageAt.getTime() + SKEW_MS);
  const sessionFilter = (column: string) => (e.session ? sql`and ${sql.ref(column)} = ${e.session}` : sql``);
  // The oldest UNKNOWN claim to that chat made before the message, locked so a worker's
  // reconciliation or an operator's resolve cannot act on it at the same time. Campaign rows
  // first, then test-run rows (FOR UPDATE cannot sit inside a UNION).
  const campaignRow = await sql<UnknownRow>`
    select 'campaign' as kind, q.id, q.campaign_id as owner, q.campaign_id, c.waha_session as session
      from send_queue q join campaigns c on c.id = q.campaign_id
     where q.status = 'UNKNOWN' and q.chat_id = ${e.chatId} and (q.claimed_at is null or q.claimed_at <= ${latestClaim}) ${sessionFilter('c.waha_session')}
     order by q.claimed_at nulls first, q.id limit 1 for update of q skip locked`.execute(trx);
  const r = campaignRow.rows[0]
    ? campaignRow
    : await sql<UnknownRow>`
    select 'test' as kind, r.id, r.test_run_id as owner, t.campaign_id, t.waha_session as session
      from campaign_test_run_recipients r join campaign_test_runs t on t.id = r.test_run_id
     where r.status = 'UNKNOWN' and r.chat_id = ${e.chatId} and (r.claimed_at is null or r.claimed_at <= ${latestClaim}) ${sessionFilter('t.waha_session')}
     order by r.claimed_at nulls first, r.id limit 1 for update of r skip locked`.execute(trx);
  const row = r.rows[0];
  if (!row) return undefined;
  const id = Number(row.id);
  const settled = await settleProvenUnknown(trx, { ...row, id }, { rawId: e.rawId, messageId: e.messageId, source: 'a message.any webhook', worker: 'webhook' }, now);
  if (!settled) return undefined;
  await markMatched(trx, e.messageEventId, { kind: row.kind, id });
  return { kind: row.kind, id, campaignId: Number(row.campaign_id) };
}
