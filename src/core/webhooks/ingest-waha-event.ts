// The WAHA webhook receiver's core (contract §7). promise 6: every authenticated event is stored
// raw exactly once, keyed on WAHA's envelope id, matched or not; a retry or a duplicate delivery
// (§7.10) finds the row already there and changes nothing. Storing and acting happen in one
// transaction, so an event is either stored with its effects or not at all; if acting fails for
// a reason other than the database being down, the event is stored alone with the error.
import { createHash } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Context } from '../context.js';
import type { Database } from '../db/schema.js';
import { fromDatabaseError, isCampaignError } from '../errors.js';
import { getSettings } from '../settings/settings.service.js';
import { lockRawId } from '../worker/apply-acks.js';
import { type AckEffect, applyAckEvent } from './apply-ack-event.js';
import { handleInboundMessage, type InboundEffect, type KeywordSettings } from './handle-inbound-message.js';
import { parseWahaEvent, type WahaEvent } from './parse-waha-event.js';
import { type Reconciled, reconcileFromMessageAny } from './reconcile-from-message-any.js';
import { storeAndApplyAck, takesAckFastPath } from './store-and-apply-ack.js';
import { type SessionStatusEffect, updateSessionStatus } from './update-session-status.js';

/** The events that carry a message id worth indexing (acks are matched on it later). */
const MESSAGE_EVENTS = new Set(['message', 'message.any', 'message.ack', 'message.ack.group', 'message.revoked', 'message.edited', 'message.reaction']);

export type IngestEffect =
  | { kind: 'ack'; ack: number | null; matchedRows: number; advanced: number; pending: boolean }
  | { kind: 'confirmed'; matchedRows: number; advanced: number }
  | { kind: 'reconciled'; row: Reconciled }
  | { kind: 'unmatched_own_message' }
  | { kind: 'inbound'; inbound: InboundEffect }
  | { kind: 'duplicate_message' }
  | ({ kind: 'session_status' } & SessionStatusEffect)
  | { kind: 'stored_only'; why: string };

export interface IngestResult {
  eventId: string;
  event: string;
  /** False for a duplicate delivery (the event was already stored; nothing was done again). */
  stored: boolean;
  duplicate: boolean;
  messageEventId: number | null;
  effect: IngestEffect | null;
  /** Set when acting on the event failed; it was stored all the same. */
  error?: string;
}

export interface IngestOptions {
  /** Keyword settings; read from the database (inbound messages only) when absent. */
  settings?: KeywordSettings;
}

async function act(trx: Transaction<Database>, ctx: Context, e: WahaEvent, id: number, now: Date, options: IngestOptions): Promise<IngestEffect> {
  switch (e.event) {
    case 'message.ack': {
      if (e.fromMe === false) return { kind: 'stored_only', why: 'ack of a message we did not send' };
      if (!e.rawId) return { kind: 'stored_only', why: 'ack without a message id' };
      const r: AckEffect = await applyAckEvent(trx, id, e.rawId, e.ack, now, { locked: true, reason: e.ackReason });
      return { kind: 'ack', ack: e.ack, matchedRows: r.rows.length, advanced: r.advanced, pending: r.rows.length === 0 };
    }
    case 'message.any': {
      // Both directions arrive here (§7.6); `webhook setup` subscribes to message.any alone.
      if (e.fromMe === false) return inbound(trx, ctx, e, id, now, options);
      if (e.fromMe !== true) return { kind: 'stored_only', why: 'message of unknown direction (no fromMe)' };
      if (!e.rawId) return { kind: 'stored_only', why: 'message without an id' };
      const r = await applyAckEvent(trx, id, e.rawId, e.ack, now, { locked: true, reason: e.ackReason });
      if (r.rows.length > 0) return { kind: 'confirmed', matchedRows: r.rows.length, advanced: r.advanced };
      if (!e.chatId) return { kind: 'unmatched_own_message' };
      const reconciled = await reconcileFromMessageAny(
        trx,
        { messageEventId: id, rawId: e.rawId, messageId: e.messageId, chatId: e.chatId, session: e.session, messageAt: new Date(e.messageAtMs ?? now.getTime()) },
        now,
      );
      // Not ours to prove (a message typed on the phone, a preview, or a send whose result the
      // worker is still recording): kept; the send result applies it when it lands.
      return reconciled ? { kind: 'reconciled', row: reconciled } : { kind: 'unmatched_own_message' };
    }
    case 'message': {
      if (e.fromMe === true) return { kind: 'stored_only', why: 'our own message' };
      return inbound(trx, ctx, e, id, now, options);
    }
    case 'session.status': {
      const status = typeof e.payload.status === 'string' ? e.payload.status : undefined;
      const session = typeof e.payload.name === 'string' ? e.payload.name : e.session;
      if (!status || !session) return { kind: 'stored_only', why: 'session.status without a session name or status' };
      return { kind: 'session_status', ...(await updateSessionStatus(trx, session, status, now)) };
    }
    default:
      return { kind: 'stored_only', why: 'an event this receiver does not act on' };
  }
}

/**
 * An inbound message, from `message` or `message.any` (a session subscribed to both gets each
 * inbound twice under two envelope ids, §7.10, and engines have emitted one message twice with a
 * LID and a PN chat): one reply, opt-out or opt-in per raw message id, whichever copy comes first.
 * The raw-id lock serialises two copies arriving at once; the check after it is a new statement,
 * so it sees a copy committed while this waited. A copy stored with an error (not acted on) does
 * not count, so the next copy still acts.
 */
async function inbound(trx: Transaction<Database>, ctx: Context, e: WahaEvent, id: number, now: Date, options: IngestOptions): Promise<IngestEffect> {
  if (!e.chatId) return { kind: 'stored_only', why: 'message without a chat' };
  if (e.rawId) {
    await lockRawId(trx, e.rawId);
    const seen = await sql<{ n: number }>`select count(*)::int as n from message_events
      where waha_raw_id = ${e.rawId} and event in ('message', 'message.any') and from_me is not true and process_error is null and id <> ${id}`.execute(trx);
    if (seen.rows[0]!.n > 0) return { kind: 'duplicate_message' };
  }
  const keywords = options.settings ?? (await getSettings(trx));
  const r = await handleInboundMessage(trx, { messageEventId: id, chatId: e.chatId, body: e.body, session: e.session }, keywords, now, ctx.config);
  return { kind: 'inbound', inbound: r };
}

/** Events whose effects meet the send result on a raw id (see lockRawId in worker/apply-acks.ts). */
const LOCKING_EVENTS = new Set(['message.ack', 'message.any']);

function insertEvent(trx: Transaction<Database> | Context['db'], e: WahaEvent, raw: string, now: Date, error: string | null) {
  const isMessage = MESSAGE_EVENTS.has(e.event);
  const insert = sql`
    insert into message_events (event_id, event, session, received_at, raw, waha_raw_id, chat_id, from_me, ack, processed_at, process_error)
    values (${e.eventId}, ${e.event}, ${e.session}, ${now}, ${raw}, ${isMessage ? e.rawId : null}, ${e.chatId}, ${e.fromMe},
            ${LOCKING_EVENTS.has(e.event) ? e.ack : null}, ${error === null ? now : null}, ${error})
    on conflict (event_id) do nothing
    returning id`;
  // The raw-id lock is taken in the same statement as the insert (one round trip fewer per ack:
  // measured by bench/webhook.ts); the lookup that follows runs after it with a fresh snapshot.
  if (error === null && LOCKING_EVENTS.has(e.event) && e.rawId && e.fromMe !== false) {
    return sql<{ id: number }>`with ins as (${insert}) select id, pg_advisory_xact_lock(hashtext('campaign.raw_id'), hashtext(${e.rawId}))::text as locked from ins`.execute(trx);
  }
  return sql<{ id: number }>`${insert}`.execute(trx);
}

/**
 * A body that passed authentication but is not a WAHA envelope we can read (not JSON, no event
 * name, a field of the wrong type): promise 6 makes no exception, so it is stored raw with why it
 * could not be read, keyed on a hash of its bytes so a retry of the same body is stored once.
 * Refusing it with a 4xx would make WAHA retry and then drop it: the bytes would be lost.
 */
function unreadableEvent(raw: string): WahaEvent {
  return {
    eventId: `unreadable:${createHash('sha256').update(raw).digest('hex')}`, event: 'unreadable', session: null, timestampMs: null, payload: {},
    messageId: null, rawId: null, chatId: null, fromMe: null, ack: null, ackReason: null, body: null, messageAtMs: null,
  };
}

/**
 * Stores and acts on one webhook body (the raw bytes WAHA signed). Throws DATABASE_UNAVAILABLE
 * when nothing could be stored (503: WAHA retries, §7.3); anything else is stored (with its error
 * when it could not be read or acted on) and answered 2xx.
 */
export async function ingestWahaEvent(ctx: Context, rawBody: Buffer | string, options: IngestOptions = {}): Promise<IngestResult> {
  const raw = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  let e: WahaEvent;
  try {
    e = parseWahaEvent(rawBody);
  } catch (err) {
    if (!isCampaignError(err) || err.code !== 'USAGE') throw err;
    const u = unreadableEvent(raw);
    const ins = await insertEvent(ctx.db, u, raw, ctx.clock.now(), err.message).catch((dbErr) => {
      throw fromDatabaseError(dbErr) ?? dbErr;
    });
    const row = ins.rows[0];
    return { eventId: u.eventId, event: u.event, stored: Boolean(row), duplicate: !row, messageEventId: row ? Number(row.id) : null, effect: { kind: 'stored_only', why: err.message }, error: err.message };
  }
  const now = ctx.clock.now();
  const base = { eventId: e.eventId, event: e.event };
  try {
    // The common path (acks, our own message.any) in one round trip; same effects as act() below.
    if (takesAckFastPath(e)) {
      const r = await storeAndApplyAck(ctx.db, e, raw, now);
      if (r && r.messageEventId === null) return { ...base, stored: false, duplicate: true, messageEventId: null, effect: null };
      if (r) {
        const effect: IngestEffect =
          e.event === 'message.ack'
            ? { kind: 'ack', ack: e.ack, matchedRows: r.matchedRows, advanced: r.advanced, pending: r.matchedRows === 0 }
            : r.matchedRows > 0
              ? { kind: 'confirmed', matchedRows: r.matchedRows, advanced: r.advanced }
              : { kind: 'unmatched_own_message' };
        return { ...base, stored: true, duplicate: false, messageEventId: r.messageEventId, effect };
      }
      // Undefined: a message.any that may prove an UNKNOWN row; reconciled in the transaction.
    }
    return await ctx.db.transaction().execute(async (trx) => {
      const ins = await insertEvent(trx, e, raw, now, null);
      const row = ins.rows[0];
      if (!row) return { ...base, stored: false, duplicate: true, messageEventId: null, effect: null };
      const id = Number(row.id);
      const effect = await act(trx, ctx, e, id, now, options);
      return { ...base, stored: true, duplicate: false, messageEventId: id, effect };
    });
  } catch (err) {
    const unavailable = fromDatabaseError(err);
    if (unavailable) throw unavailable;
    if (isCampaignError(err) && err.code === 'DATABASE_UNAVAILABLE') throw err;
    const message = err instanceof Error ? err.message : String(err);
    ctx.log.error('webhook event stored without its effects', { eventId: e.eventId, event: e.event, error: message });
    const ins = await insertEvent(ctx.db, e, raw, now, message);
    const row = ins.rows[0];
    return { ...base, stored: Boolean(row), duplicate: !row, messageEventId: row ? Number(row.id) : null, effect: null, error: message };
  }
}
