// UNKNOWN rows (the request may have reached WAHA) are resolved only by proof from WAHA's own
// record (contract §7.6, §8.4): a `message.any` from us to that chat after the claim, stored by
// the webhook, or the chat's recent messages asked of WAHA. Without proof a row stays UNKNOWN
// until an operator runs `campaign resolve` (promise 2).
import { sql, type Transaction } from 'kysely';
import type { Context } from '../context.js';
import type { Database } from '../db/schema.js';
import type { ChatMessage } from '../waha/index.js';
import { applyKnownAcks } from './apply-acks.js';
import { type RecipientKind, recipientTable } from './recipient-tables.js';
import { recordWorkerEvent } from './worker-events.js';

export interface ChatHistoryPort {
  chatMessages(session: string, chatId: string, options: { limit: number; fromMe?: boolean }): Promise<ChatMessage[]>;
}

interface UnknownRow {
  kind: RecipientKind;
  id: number;
  owner: number;
  campaign_id: number;
  chat_id: string;
  session: string;
  claimed_at: Date;
}

/** Clock skew allowed between our claim time and WAHA's message timestamp. */
const SKEW_MS = 10_000;

async function unknownRows(ctx: Context, limit: number): Promise<UnknownRow[]> {
  const r = await sql<UnknownRow>`
    (select 'campaign' as kind, q.id, q.campaign_id as owner, q.campaign_id, q.chat_id, c.waha_session as session, q.claimed_at
       from send_queue q join campaigns c on c.id = q.campaign_id where q.status = 'UNKNOWN' order by q.updated_at, q.id limit ${limit})
    union all
    (select 'test', r.id, r.test_run_id, t.campaign_id, r.chat_id, t.waha_session, r.claimed_at
       from campaign_test_run_recipients r join campaign_test_runs t on t.id = r.test_run_id where r.status = 'UNKNOWN' order by r.updated_at, r.id limit ${limit})`.execute(ctx.db);
  return r.rows;
}

async function alreadyMatched(ctx: Context, rawId: string): Promise<boolean> {
  const r = await sql<{ n: number }>`
    select (select count(*) from send_queue where waha_raw_id = ${rawId}) + (select count(*) from campaign_test_run_recipients where waha_raw_id = ${rawId}) as n`.execute(ctx.db);
  return Number(r.rows[0]!.n) > 0;
}

async function proofFromWebhooks(ctx: Context, row: UnknownRow): Promise<string | undefined> {
  const since = new Date((row.claimed_at?.getTime() ?? 0) - SKEW_MS);
  const r = await sql<{ waha_raw_id: string }>`
    select waha_raw_id from message_events
    where event = 'message.any' and from_me and chat_id = ${row.chat_id} and received_at >= ${since} and waha_raw_id is not null
    order by received_at limit 5`.execute(ctx.db);
  for (const e of r.rows) if (!(await alreadyMatched(ctx, e.waha_raw_id))) return e.waha_raw_id;
  return undefined;
}

async function proofFromWaha(ctx: Context, row: UnknownRow, waha: ChatHistoryPort): Promise<{ rawId: string; messageId: string } | undefined> {
  const since = (row.claimed_at?.getTime() ?? 0) - SKEW_MS;
  const messages = await waha.chatMessages(row.session, row.chat_id, { limit: 20, fromMe: true });
  const ours = messages.filter((m) => m.fromMe && m.timestampMs >= since).sort((a, b) => a.timestampMs - b.timestampMs);
  // Fix: the oldest candidate used to be the only one tried; when it already belonged to another
  // row (another campaign's send to the same chat within the skew), the real proof behind it was
  // never looked at and the row stayed UNKNOWN, inviting an operator resend (a duplicate).
  for (const m of ours) if (!(await alreadyMatched(ctx, m.rawId))) return { rawId: m.rawId, messageId: m.id };
  return undefined;
}

/**
 * An UNKNOWN row proven sent (promise 2): SENT_API_ACCEPTED with WAHA's ids, the acks already
 * stored for that raw id applied, and the `reconciled` event. Used by the worker's pass and by
 * the webhook when the proving `message.any` arrives. False when the row is no longer UNKNOWN.
 */
export async function settleProvenUnknown(
  trx: Transaction<Database>,
  row: { kind: RecipientKind; id: number; owner: number; campaign_id: number; session: string },
  proof: { rawId: string; messageId: string | null; source: string; worker: string },
  now: Date,
): Promise<boolean> {
  const u = await sql`update ${recipientTable(row.kind)} set status = 'SENT_API_ACCEPTED', sent_at = coalesce(sent_at, claimed_at), waha_raw_id = ${proof.rawId},
             waha_message_id = coalesce(${proof.messageId}, waha_message_id), last_error = null, updated_at = ${now}
             where id = ${row.id} and status = 'UNKNOWN'`.execute(trx);
  if (Number(u.numAffectedRows ?? 0) === 0) return false;
  await applyKnownAcks(trx, row.kind, row.id, proof.rawId, now);
  await recordWorkerEvent(trx, {
    at: now, event: 'reconciled', worker: proof.worker, session: row.session, campaignId: Number(row.campaign_id),
    testRunId: row.kind === 'test' ? Number(row.owner) : null, queueId: row.kind === 'campaign' ? row.id : null,
    testRecipientId: row.kind === 'test' ? row.id : null, status: 'SENT_API_ACCEPTED', reason: `proven sent by ${proof.source}`, details: { rawId: proof.rawId },
  });
  return true;
}

export async function reconcileUnknown(ctx: Context, options: { worker: string; waha?: ChatHistoryPort; limit?: number }): Promise<{ reconciled: number; unresolved: number }> {
  const rows = await unknownRows(ctx, options.limit ?? 20);
  let reconciled = 0;
  for (const row of rows) {
    let rawId = await proofFromWebhooks(ctx, row);
    let messageId: string | null = null;
    let source = 'message.any webhook';
    if (!rawId && options.waha) {
      try {
        const p = await proofFromWaha(ctx, row, options.waha);
        if (p) {
          rawId = p.rawId;
          messageId = p.messageId;
          source = "WAHA's chat history";
        }
      } catch {
        // WAHA unreachable: try again on the next pass; the row stays UNKNOWN meanwhile.
      }
    }
    if (!rawId) {
      // Fix: rows are taken oldest-updated first, `limit` at a time; unprovable rows used to stay
      // at the head of that order forever, so once `limit` of them existed no newer UNKNOWN row was
      // ever examined (and WAHA-received sends waited for an operator resend: a duplicate). Moving
      // an examined row to the back of the line lets every pass look at the next ones.
      await sql`update ${recipientTable(row.kind)} set updated_at = ${ctx.clock.now()} where id = ${row.id} and status = 'UNKNOWN'`.execute(ctx.db);
      continue;
    }
    const now = ctx.clock.now();
    const changed = await ctx.db.transaction().execute((trx) => settleProvenUnknown(trx, row, { rawId: rawId!, messageId, source, worker: options.worker }, now));
    if (changed) reconciled++;
  }
  return { reconciled, unresolved: rows.length - reconciled };
}
