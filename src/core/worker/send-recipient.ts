// The WAHA call for one claimed row. Runs outside any transaction (the claim has committed).
// One claim, one message-creating request (promise 1): when WAHA answers 501 for buttons or a
// list, the row goes back to the queue marked to send its saved fallback, and the fallback leaves
// under a claim of its own, paced like any send (record-outcome.ts), never inside this one.
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { isCampaignError } from '../errors.js';
import type { Database } from '../db/schema.js';
import type { SendOutcome } from '../waha/index.js';
import { type ClaimedRecipient, OWNER_TABLE, RECIPIENT_TABLE } from './recipient-tables.js';
import { startSend } from './send-slot.js';

export interface SendPort {
  send(endpoint: string, body: Record<string, unknown>, options?: { signal?: AbortSignal }): Promise<SendOutcome>;
}

/** Replaces Media Gallery references (media-asset://<id>) with a URL or base64 data at send time. */
export type MediaResolver = (payload: Record<string, unknown>) => Promise<Record<string, unknown>>;

export type SendResult =
  | { sent: true; outcome: SendOutcome; usedFallback: boolean }
  /**
   * No request left (send-slot.ts): the claim lost its hold, its owner was paused or cancelled or
   * its number blocked since the claim, or its media could not be resolved (`fail`: retrying
   * cannot help until an operator acts).
   */
  | { sent: false; reason: string; skip?: 'opted_out' | 'suppressed'; fail?: boolean; retryAfterMs?: number };

/**
 * Endpoints each session answered 501 for, learnt by this process: a row with a fallback sends
 * it straight away instead of spending a counted request on a known 501.
 */
export class NotImplementedMemo {
  private readonly seen = new Set<string>();
  has(session: string, endpoint: string): boolean {
    return this.seen.has(`${session}\n${endpoint}`);
  }
  learn(session: string, endpoint: string): void {
    this.seen.add(`${session}\n${endpoint}`);
  }
}

export async function sendRecipient(
  r: ClaimedRecipient,
  ports: { db: Kysely<Database>; waha: SendPort; resolveMedia: MediaResolver; clock: Clock; notImplemented?: NotImplementedMemo },
): Promise<SendResult> {
  const hasFallback = r.fallbackEndpoint !== null && r.fallbackPayload !== null;
  const usedFallback = hasFallback && (r.fallbackOnly || Boolean(ports.notImplemented?.has(r.session, r.endpoint)));
  const endpoint = usedFallback ? r.fallbackEndpoint! : r.endpoint;
  let body: Record<string, unknown>;
  try {
    body = await ports.resolveMedia(usedFallback ? r.fallbackPayload! : r.payload);
  } catch (e) {
    // Nothing left (promise 2), whatever the error: the row is never taken for a possible send
    // and the worker does not stop on it. A missing media file is the operator's to fix, so the
    // row fails with the reason; anything else (the database, the disk) is tried again later.
    const message = e instanceof Error ? e.message : String(e);
    if (isCampaignError(e) && !['DATABASE_UNAVAILABLE', 'INTERNAL'].includes(e.code)) return { sent: false, fail: true, reason: `media could not be resolved: ${message}` };
    return { sent: false, reason: `media could not be resolved (${message}); nothing was sent, tried again in a minute`, retryAfterMs: 60_000 };
  }
  // promise 1: the send is timed from here, and only while this claim still holds the session;
  // promises 4 and 5: a pause, cancel, opt-out or suppression since the claim stops it here.
  const start = await startSend(ports.db, r.slot, ports.clock, {
    owner: { table: OWNER_TABLE[r.kind], id: r.ownerId },
    row: { table: RECIPIENT_TABLE[r.kind], id: r.id, claimedBy: r.slot.holder, claimedAt: r.claimedAt },
    chatId: r.chatId,
  });
  if (!start.started) {
    switch (start.why) {
      case 'hold_lost':
      case 'row_taken':
        return { sent: false, reason: 'the claim lost its hold on the session before its request could start (media took too long, or a peer took this worker for dead); nothing was sent' };
      case 'owner_stopped':
        return { sent: false, reason: `the ${r.kind === 'test' ? 'test run' : 'campaign'} was paused or cancelled before the request left; nothing was sent` };
      default:
        return { sent: false, skip: start.why, reason: `the number ${start.why === 'opted_out' ? 'opted out' : 'was suppressed'} before the request left; nothing was sent` };
    }
  }
  const outcome = await ports.waha.send(endpoint, body);
  if (outcome.kind === 'not_implemented') ports.notImplemented?.learn(r.session, endpoint);
  return { sent: true, outcome, usedFallback };
}
