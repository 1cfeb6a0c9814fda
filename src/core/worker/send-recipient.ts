// The WAHA call for one claimed row. Runs outside any transaction (the claim has committed).
// A 501 for buttons or a list sends the saved fallback instead, within the same claim.
import type { SendOutcome } from '../waha/index.js';
import type { ClaimedRecipient } from './recipient-tables.js';

export interface SendPort {
  send(endpoint: string, body: Record<string, unknown>, options?: { signal?: AbortSignal }): Promise<SendOutcome>;
}

/** Replaces Media Gallery references (media-asset://<id>) with a URL or base64 data at send time. */
export type MediaResolver = (payload: Record<string, unknown>) => Promise<Record<string, unknown>>;

export async function sendRecipient(r: ClaimedRecipient, waha: SendPort, resolveMedia: MediaResolver): Promise<{ outcome: SendOutcome; usedFallback: boolean }> {
  const outcome = await waha.send(r.endpoint, await resolveMedia(r.payload));
  if (outcome.kind === 'not_implemented' && r.fallbackEndpoint && r.fallbackPayload) {
    return { outcome: await waha.send(r.fallbackEndpoint, await resolveMedia(r.fallbackPayload)), usedFallback: true };
  }
  return { outcome, usedFallback: false };
}
