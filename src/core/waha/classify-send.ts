// Turns what WAHA answered to a send (or the way the request failed) into a SendOutcome.
// The line that matters most is between `retryable` and `unknown` (promise 2): only a failure
// that proves nothing left this machine may be retried; anything after the request could have
// reached WAHA is `unknown` and is never re-sent silently.
import { messageIdFromResponse, rawMessageId } from './message-id.js';
import type { SendOutcome } from './send-outcome.js';

/** Connection errors raised before a byte of the request was written (DNS, refused, unreachable). */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_INVALID_URL',
]);

function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const errors = (cur as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      // Happy eyeballs: an AggregateError of one error per address, all refused or unreachable.
      const codes = errors.map(errorCode);
      if (codes.every((c) => c !== undefined && NOT_SENT_CODES.has(c))) return codes[0];
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string } };
  const cause = err?.cause?.message;
  return cause && cause !== err?.message ? `${err?.message}: ${cause}` : String(err?.message ?? e);
}

/**
 * A fetch that threw. `timedOut` is our own per-request timeout; `beforeStart` means the caller's
 * signal was already aborted, so nothing was attempted.
 */
export function classifyFetchError(e: unknown, options: { timedOut: boolean; beforeStart: boolean; timeoutMs: number }): SendOutcome {
  if (options.beforeStart) return { kind: 'retryable', error: 'the send was cancelled before it started' };
  if (options.timedOut) return { kind: 'unknown', error: `WAHA did not answer within ${options.timeoutMs} ms; the message may have been sent` };
  const name = (e as { name?: string })?.name;
  if (name === 'AbortError') return { kind: 'unknown', error: 'the send was cancelled while in flight; the message may have been sent' };
  const code = errorCode(e);
  if (code && NOT_SENT_CODES.has(code)) return { kind: 'retryable', error: `WAHA could not be reached (${code}); nothing was sent` };
  // undici rejects some URLs (bad port, bad scheme) before it connects; they carry no code.
  if (!code && /bad port|invalid url|unknown scheme/i.test(describe(e))) return { kind: 'retryable', error: `WAHA could not be reached: ${describe(e)}` };
  return { kind: 'unknown', error: `the connection to WAHA failed after the request left${code ? ` (${code})` : ''}: ${describe(e)}; the message may have been sent` };
}

function text(body: unknown): string {
  if (body === undefined || body === null || body === '') return '';
  if (typeof body === 'string') return body;
  const b = body as Record<string, unknown>;
  const m = b.message ?? b.error ?? (b.exception as Record<string, unknown> | undefined)?.message;
  if (Array.isArray(m)) return m.join('; ');
  if (typeof m === 'string') return m;
  return JSON.stringify(body).slice(0, 300);
}

/** WAHA's HTTP answer to a send (contract §6.1, §6.2). */
export function classifySendResponse(status: number, body: unknown): SendOutcome {
  if (status >= 200 && status < 300) {
    // An empty body still means WAHA took it (WEBJS 2025.6.5): accepted without an id; the
    // message.any webhook and the chat history still carry it.
    const messageId = messageIdFromResponse(body) ?? '';
    return { kind: 'accepted', messageId, rawId: messageId ? rawMessageId(messageId) : '' };
  }
  const message = text(body);
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  if (status === 501) return { kind: 'not_implemented', status: 501, error: message || 'not implemented by the engine' };
  if (status === 422) {
    // Session-state 422s are objects without statusCode (contract §6.2).
    if (typeof b.session === 'string' || /Session .* does not exist|Session status is not as expected|Session name is required/i.test(message)) {
      const st = typeof b.status === 'string' ? b.status : /does not exist/i.test(message) ? 'NOT_FOUND' : undefined;
      return { kind: 'session_unavailable', status: st, reason: `WAHA session ${typeof b.session === 'string' ? `"${b.session}" ` : ''}is not usable${st ? ` (${st})` : ''}: ${message}` };
    }
    // Before 2025-06-27 an engine without the method answered 422; before 2026.6.1 Core did the
    // same for Plus-only features. Both mean "this type cannot be sent here": use the fallback.
    if (/not implemented by the engine|available only in Plus/i.test(message)) return { kind: 'not_implemented', status: 501, error: message };
    return { kind: 'rejected', status, error: message || 'WAHA refused the message (422)' };
  }
  if (status === 404 && /session not found/i.test(message)) return { kind: 'session_unavailable', status: 'NOT_FOUND', reason: `WAHA has no such session: ${message}` };
  // A wrong key fails every send alike; pausing the session keeps recipients from being failed
  // for a configuration mistake (the worker resumes when getSession works again).
  if (status === 401 || status === 403) {
    return { kind: 'session_unavailable', status: status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', reason: `WAHA refused the API key (${status}); check WAHA_API_KEY` };
  }
  if (status === 429) return { kind: 'retryable', status, error: message || 'WAHA asked to slow down (429)' };
  if (status >= 400 && status < 500) return { kind: 'rejected', status, error: message || `WAHA refused the message (${status})` };
  // A gateway timeout in front of WAHA: the request reached the proxy and maybe WAHA (promise 2).
  if (status === 504) return { kind: 'unknown', error: `a gateway in front of WAHA timed out (504); the message may have been sent` };
  return { kind: 'retryable', status, error: message ? `WAHA answered ${status}: ${message}` : `WAHA answered ${status}` };
}
