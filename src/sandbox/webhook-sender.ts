// Posts events the way WAHA's WebhookSender does (contract §7.2, §7.3): body = JSON.stringify of
// the envelope, HMAC-SHA512 hex of exactly those bytes in X-Webhook-Hmac, the same request id
// and timestamp on every retry, retries on any non-2xx or network error, Retry-After honoured
// as a minimum delay.
import { randomUUID } from 'node:crypto';
import { systemClock } from '../core/clock.js';
import { signWahaBody } from '../core/webhooks/verify-waha-signature.js';

export interface WebhookEnvelope {
  id: string;
  timestamp: number;
  event: string;
  session: string;
  me: { id: string; pushName: string } | null;
  payload: Record<string, unknown>;
  engine: string;
  environment: Record<string, unknown>;
}

export interface WebhookAttempt {
  envelopeId: string;
  event: string;
  requestId: string;
  attempt: number;
  /** HTTP status of the receiver's answer; absent on a network error. */
  status?: number;
  error?: string;
  at: string;
}

export interface WebhookSenderOptions {
  url: string;
  hmacKey?: string;
  /** Retries after the first POST (WAHA's default is 15; the sandbox's 3). */
  retries?: number;
  /** Constant delay between attempts (WAHA's `constant` policy, default 2 s there). */
  retryDelayMs?: number;
  /** Per attempt; WAHA sets none, the sandbox caps it so a hung receiver cannot pin it forever. */
  timeoutMs?: number;
  signal: AbortSignal;
  onAttempt(a: WebhookAttempt): void;
}

export const WAHA_VERSION = '2026.7.1';

/** The receiver's own signer (HMAC-SHA512 hex of the exact body bytes), so both sides agree by construction. */
export const signBody = signWahaBody;

/** Resolves after `ms`, or at once when `signal` aborts. */
export const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> => systemClock.sleep(ms, signal);

export function createWebhookSender(o: WebhookSenderOptions) {
  const retries = o.retries ?? 3;
  const delay = o.retryDelayMs ?? 2000;
  return {
    /** Resolves true once a 2xx came back, false after the last attempt failed (or on close). */
    async deliver(envelope: WebhookEnvelope): Promise<boolean> {
      const body = JSON.stringify(envelope);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': `WAHA/${WAHA_VERSION} (campaign sandbox)`,
        'x-webhook-request-id': randomUUID().replace(/-/g, '').slice(0, 13),
        'x-webhook-timestamp': String(envelope.timestamp),
      };
      if (o.hmacKey) {
        headers['x-webhook-hmac'] = signBody(body, o.hmacKey);
        headers['x-webhook-hmac-algorithm'] = 'sha512';
      }
      for (let attempt = 1; attempt <= retries + 1 && !o.signal.aborted; attempt++) {
        const record: WebhookAttempt = { envelopeId: envelope.id, event: envelope.event, requestId: headers['x-webhook-request-id']!, attempt, at: new Date().toISOString() };
        let wait = delay;
        try {
          const res = await fetch(o.url, { method: 'POST', headers, body, signal: AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs ?? 10_000)]) });
          await res.arrayBuffer().catch(() => undefined);
          record.status = res.status;
          o.onAttempt(record);
          if (res.ok) return true;
          const retryAfter = Number(res.headers.get('retry-after'));
          if (Number.isFinite(retryAfter) && retryAfter > 0) wait = Math.max(wait, retryAfter * 1000);
        } catch (e) {
          if (o.signal.aborted) return false;
          record.error = String((e as { cause?: { code?: string } })?.cause?.code ?? (e as Error)?.message ?? e);
          o.onAttempt(record);
        }
        if (attempt <= retries) await abortableSleep(wait, o.signal);
      }
      return false;
    },
  };
}

