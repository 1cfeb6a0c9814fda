// The WAHA call for one claimed row. Runs outside any transaction (the claim has committed).
// One claim, one message-creating request (promise 1): when WAHA answers 501 for buttons or a
// list, the row goes back to the queue marked to send its saved fallback, and the fallback leaves
// under a claim of its own, paced like any send (record-outcome.ts), never inside this one.
import type { Clock } from '../clock.js';
import type { SendOutcome } from '../waha/index.js';
import type { ClaimedRecipient } from './recipient-tables.js';
import { slotCovers } from './send-slot.js';

export interface SendPort {
  send(endpoint: string, body: Record<string, unknown>, options?: { signal?: AbortSignal }): Promise<SendOutcome>;
}

/** Replaces Media Gallery references (media-asset://<id>) with a URL or base64 data at send time. */
export type MediaResolver = (payload: Record<string, unknown>) => Promise<Record<string, unknown>>;

export type SendResult =
  | { sent: true; outcome: SendOutcome; usedFallback: boolean; endpoint: string; sentAt: Date }
  /** No request left: the claim's slot no longer covered it (see send-slot.ts). */
  | { sent: false; reason: string };

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
  ports: { waha: SendPort; resolveMedia: MediaResolver; clock: Clock; notImplemented?: NotImplementedMemo },
): Promise<SendResult> {
  const hasFallback = r.fallbackEndpoint !== null && r.fallbackPayload !== null;
  const usedFallback = hasFallback && (r.fallbackOnly || Boolean(ports.notImplemented?.has(r.session, r.endpoint)));
  const endpoint = usedFallback ? r.fallbackEndpoint! : r.endpoint;
  const body = await ports.resolveMedia(usedFallback ? r.fallbackPayload! : r.payload);
  const sentAt = ports.clock.now();
  if (!slotCovers(r.slot, sentAt)) {
    return { sent: false, reason: `the request could not start within ${Math.round((r.slot.holdUntil.getTime() - r.claimedAt.getTime()) / 1000)} s of its claim (media took too long); nothing was sent` };
  }
  const outcome = await ports.waha.send(endpoint, body);
  if (outcome.kind === 'not_implemented') ports.notImplemented?.learn(r.session, endpoint);
  return { sent: true, outcome, usedFallback, endpoint, sentAt };
}
