// After WAHA answered (or did not), the row moves to its next state in one transaction, with the
// worker event that explains it. A failed send is data, not an exception.
import { sql, type Transaction } from 'kysely';
import type { Context } from '../context.js';
import type { Database } from '../db/schema.js';
import type { Settings } from '../settings/settings.schema.js';
import type { SendOutcome } from '../waha/index.js';
import { applyKnownAcks } from './apply-acks.js';
import { autoPauseIfFailing, completeIfDone } from './completion.js';
import { type ClaimedRecipient, ownerTable, recipientTable } from './recipient-tables.js';
import { delayFromAnswer, releaseSlot } from './send-slot.js';
import { recordSessionDown } from './session-down.js';
import { recordWorkerEvent } from './worker-events.js';

export interface OutcomeContext {
  worker: string;
  settings: Settings;
  usedFallback: boolean;
}

export type RecordedState = 'SENT_API_ACCEPTED' | 'FAILED' | 'PENDING' | 'UNKNOWN' | 'SKIPPED';

function ids(r: ClaimedRecipient) {
  return {
    campaignId: r.campaignId,
    testRunId: r.kind === 'test' ? r.ownerId : null,
    queueId: r.kind === 'campaign' ? r.id : null,
    testRecipientId: r.kind === 'test' ? r.id : null,
  };
}

/**
 * The row is still this claim's to settle: SENDING, or UNKNOWN because a peer took this worker
 * for dead mid-send (heartbeats judged with the peer's own interval). Fix: a definite answer from
 * WAHA (5xx, 4xx, session down) used to be dropped in that case, leaving a send that certainly
 * did not happen waiting for an operator. Only this claim's row qualifies (claimed_by and
 * claimed_at), so an operator's resend or skip, or a reconciliation, is never overridden.
 */
function stillOurs(r: ClaimedRecipient, worker: string) {
  return sql`(status = 'SENDING' or (status = 'UNKNOWN' and claimed_by = ${worker} and claimed_at = ${r.claimedAt}))`;
}

/**
 * Where a row that never left goes back to: the queue, or SKIPPED when its campaign or test run
 * was cancelled while it was in flight (promise 5: cancel skips only PENDING rows, so a row put
 * back after it would wait in a cancelled owner forever). The owner is share-locked, so a cancel
 * in progress is waited for and seen, and one that starts later skips the row put back here.
 */
async function requeueState(trx: Transaction<Database>, r: ClaimedRecipient): Promise<{ status: 'PENDING' | 'SKIPPED'; skipReason: string | null }> {
  const owner = await sql<{ status: string }>`select status from ${ownerTable(r.kind)} where id = ${r.ownerId} for share`.execute(trx);
  if (owner.rows[0]?.status !== 'CANCELLED') return { status: 'PENDING', skipReason: null };
  return { status: 'SKIPPED', skipReason: r.kind === 'campaign' ? 'campaign cancelled' : 'test run cancelled' };
}

/** Retry backoff: 30 s, 60 s, 120 s … capped at 30 minutes. */
export function retryDelayMs(attempt: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempt - 1), 30 * 60_000);
}

export async function recordOutcome(ctx: Context, r: ClaimedRecipient, outcome: SendOutcome, oc: OutcomeContext): Promise<RecordedState> {
  const now = ctx.clock.now();
  return ctx.db.transaction().execute(async (trx) => {
    const base = { at: now, worker: oc.worker, session: r.session, ...ids(r) };
    // promise 1: the next send waits its delay from this answer too (send-slot.ts).
    await delayFromAnswer(trx, r.slot, now);
    let state: RecordedState;
    // A 501 for a row with a saved fallback: nothing was sent, and the fallback is a second
    // message-creating request, so it waits for a claim of its own (pacing, pause, cancel and
    // opt-out all decide it again); the row is marked so that claim sends the fallback.
    if (outcome.kind === 'not_implemented' && !oc.usedFallback && r.fallbackEndpoint && r.fallbackPayload) {
      const back = await requeueState(trx, r);
      await sql`update ${recipientTable(r.kind)} set status = ${back.status}, skip_reason = ${back.skipReason}, used_fallback = true, attempts = greatest(attempts - 1, 0), claimed_at = null,
                claimed_by = null, last_error = ${`WAHA answered 501 for ${r.endpoint}`}, updated_at = ${now} where id = ${r.id} and ${stillOurs(r, oc.worker)}`.execute(trx);
      await recordWorkerEvent(trx, {
        ...base, event: 'fallback', status: back.status,
        reason: back.status === 'SKIPPED'
          ? `WAHA answered 501 for ${r.endpoint}; the fallback is not sent: ${back.skipReason}`
          : `WAHA answered 501 for ${r.endpoint}; the saved fallback (${r.fallbackEndpoint}) goes out as the next send pacing allows`,
        details: { endpoint: r.endpoint, fallbackEndpoint: r.fallbackEndpoint },
      });
      return back.status;
    }
    switch (outcome.kind) {
      case 'accepted': {
        state = 'SENT_API_ACCEPTED';
        await sql`update ${recipientTable(r.kind)} set status = 'SENT_API_ACCEPTED', sent_at = ${now}, waha_message_id = ${outcome.messageId},
                  waha_raw_id = ${outcome.rawId}, used_fallback = ${oc.usedFallback}, last_error = null, updated_at = ${now}
                  where id = ${r.id} and status in ('SENDING','UNKNOWN')`.execute(trx);
        await recordWorkerEvent(trx, {
          ...base, event: oc.usedFallback ? 'fallback' : 'sent', status: state,
          reason: oc.usedFallback ? 'WAHA answered 501 for this type; the saved fallback was sent' : 'accepted by WAHA',
          details: { messageId: outcome.messageId, endpoint: oc.usedFallback ? r.fallbackEndpoint : r.endpoint },
        });
        // Acks can arrive before the send response (contract §7.8): apply the ones already stored.
        if (outcome.rawId) await applyKnownAcks(trx, r.kind, r.id, outcome.rawId, now);
        break;
      }
      case 'session_unavailable': {
        // The recipient is not at fault: the row goes back to PENDING (this attempt does not
        // count) and the whole session pauses until WAHA says it is WORKING again.
        const back = await requeueState(trx, r);
        state = back.status;
        await sql`update ${recipientTable(r.kind)} set status = ${back.status}, skip_reason = ${back.skipReason}, attempts = greatest(attempts - 1, 0), claimed_at = null, claimed_by = null,
                  last_error = ${outcome.reason}, updated_at = ${now} where id = ${r.id} and ${stillOurs(r, oc.worker)}`.execute(trx);
        await recordSessionDown(trx, r.slot, outcome, now);
        await recordWorkerEvent(trx, { ...base, event: 'session_not_working', status: back.status, reason: outcome.reason, details: { wahaStatus: outcome.status ?? null } });
        break;
      }
      case 'retryable': {
        if (r.attempts < oc.settings.max_attempts) {
          const back = await requeueState(trx, r);
          state = back.status;
          const next = new Date(now.getTime() + retryDelayMs(r.attempts));
          await sql`update ${recipientTable(r.kind)} set status = ${back.status}, skip_reason = ${back.skipReason}, next_attempt_at = ${next}, last_error = ${outcome.error}, updated_at = ${now}
                    where id = ${r.id} and ${stillOurs(r, oc.worker)}`.execute(trx);
          await recordWorkerEvent(trx, {
            ...base, event: 'retry', status: back.status, nextAttemptAt: next,
            reason: `attempt ${r.attempts} of ${oc.settings.max_attempts} failed: ${outcome.error}${back.skipReason ? `; not retried: ${back.skipReason}` : ''}`,
          });
        } else {
          state = 'FAILED';
          await sql`update ${recipientTable(r.kind)} set status = 'FAILED', failed_at = ${now}, last_error = ${outcome.error}, updated_at = ${now}
                    where id = ${r.id} and ${stillOurs(r, oc.worker)}`.execute(trx);
          await recordWorkerEvent(trx, { ...base, event: 'failed', status: 'FAILED', reason: `gave up after ${r.attempts} attempt(s): ${outcome.error}` });
        }
        break;
      }
      case 'not_implemented':
      case 'rejected': {
        state = 'FAILED';
        const error = outcome.kind === 'not_implemented' ? 'WAHA does not implement this message type (501) and there is no fallback' : outcome.error;
        await sql`update ${recipientTable(r.kind)} set status = 'FAILED', failed_at = ${now}, last_error = ${error}, updated_at = ${now}
                  where id = ${r.id} and ${stillOurs(r, oc.worker)}`.execute(trx);
        await recordWorkerEvent(trx, { ...base, event: 'failed', status: 'FAILED', reason: error, details: { httpStatus: outcome.kind === 'rejected' ? outcome.status : 501 } });
        break;
      }
      case 'unknown': {
        // promise 2: the request may have reached WAHA. Never re-sent silently: reconciliation
        // proves it from WAHA's record, or an operator decides with `campaign resolve`.
        state = 'UNKNOWN';
        // Fix: used_fallback was dropped here, so a fallback that timed out and was later
        // reconciled read as the buttons/list message having been sent (promise 3: the row says
        // what left).
        await sql`update ${recipientTable(r.kind)} set status = 'UNKNOWN', used_fallback = ${oc.usedFallback}, last_error = ${outcome.error}, updated_at = ${now}
                  where id = ${r.id} and status = 'SENDING'`.execute(trx);
        await recordWorkerEvent(trx, { ...base, event: 'unknown_outcome', status: 'UNKNOWN', reason: outcome.error });
        break;
      }
    }
    if (state === 'FAILED' && r.kind === 'campaign') await autoPauseIfFailing(trx, r.campaignId, oc.settings, now, oc.worker);
    await completeIfDone(trx, r.kind, r.ownerId, now, oc.worker);
    return state;
  });
}


/**
 * No request left for this claim (send-recipient.ts): the slot no longer counts, and the row goes
 * back to the queue as if never claimed (promise 1 and 2: nothing reached WAHA), or is SKIPPED
 * when its number was blocked since the claim (promise 4), or FAILED when its media cannot be
 * resolved (an operator must fix it; the campaign's failure rate may pause it).
 */
export async function releaseClaim(
  ctx: Context,
  r: ClaimedRecipient,
  reason: string,
  oc: { worker: string; settings: Settings },
  how: { skip?: 'opted_out' | 'suppressed'; fail?: boolean; retryAfterMs?: number } = {},
): Promise<RecordedState> {
  const now = ctx.clock.now();
  const { worker } = oc;
  return ctx.db.transaction().execute(async (trx) => {
    await releaseSlot(trx, r.slot, now);
    const base = { at: now, worker, session: r.session, ...ids(r) };
    const ours = sql`id = ${r.id} and ${stillOurs(r, oc.worker)}`;
    let state: RecordedState;
    if (how.fail) {
      state = 'FAILED';
      await sql`update ${recipientTable(r.kind)} set status = 'FAILED', failed_at = ${now}, last_error = ${reason}, updated_at = ${now} where ${ours}`.execute(trx);
      await recordWorkerEvent(trx, { ...base, event: 'failed', status: 'FAILED', reason });
      if (r.kind === 'campaign') await autoPauseIfFailing(trx, r.campaignId, oc.settings, now, worker);
    } else if (how.skip) {
      state = 'SKIPPED';
      await sql`update ${recipientTable(r.kind)} set status = 'SKIPPED', skip_reason = ${how.skip}, last_error = ${reason}, updated_at = ${now} where ${ours}`.execute(trx);
      await recordWorkerEvent(trx, { ...base, event: how.skip === 'opted_out' ? 'opted_out' : 'skipped', status: 'SKIPPED', reason });
    } else {
      const back = await requeueState(trx, r);
      state = back.status;
      const nextAttempt = how.retryAfterMs === undefined ? null : new Date(now.getTime() + how.retryAfterMs);
      await sql`update ${recipientTable(r.kind)} set status = ${back.status}, skip_reason = ${back.skipReason}, attempts = greatest(attempts - 1, 0), claimed_at = null,
                claimed_by = null, next_attempt_at = coalesce(${nextAttempt}::timestamptz, next_attempt_at), last_error = ${reason}, updated_at = ${now} where ${ours}`.execute(trx);
      await recordWorkerEvent(trx, { ...base, event: 'retry', status: back.status, reason: back.skipReason ? `${reason}; ${back.skipReason}` : reason });
    }
    await completeIfDone(trx, r.kind, r.ownerId, now, worker);
    return state;
  });
}
