// The one place that talks HTTP to WAHA (contract §1–5, §8). Sends return a SendOutcome and
// never throw for WAHA's answers; the read calls (sessions, chat history) throw catalogue errors
// that say what to check, because a person or the worker's probe acts on them.
import { CampaignError } from '../errors.js';
import { classifyFetchError, classifySendResponse } from './classify-send.js';
import { rawMessageId } from './message-id.js';
import { isSendEndpoint, SEND_ENDPOINTS } from './send-endpoints.js';
import type { ChatMessage, SendOutcome } from './send-outcome.js';

export interface WahaSession {
  name: string;
  status: string;
  me?: { id: string; pushName?: string } | null;
  engine?: string;
}

export interface WahaClient {
  readonly baseUrl: string;
  send(endpoint: string, body: Record<string, unknown>, options?: { signal?: AbortSignal }): Promise<SendOutcome>;
  listSessions(): Promise<WahaSession[]>;
  getSession(name: string): Promise<WahaSession>;
  chatMessages(session: string, chatId: string, options: { limit: number; fromMe?: boolean }): Promise<ChatMessage[]>;
}

export interface WahaClientOptions {
  baseUrl: string;
  apiKey?: string;
  /** Per request, covering connect, answer and body. Keep it below the worker's stale-send limit. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export const DEFAULT_WAHA_TIMEOUT_MS = 30_000;

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function createWahaClient(opts: WahaClientOptions): WahaClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WAHA_TIMEOUT_MS;
  const doFetch = opts.fetch ?? fetch;
  const headers = (json: boolean): Record<string, string> => ({
    accept: 'application/json',
    ...(json ? { 'content-type': 'application/json' } : {}),
    ...(opts.apiKey ? { 'x-api-key': opts.apiKey } : {}),
  });
  const hint = `Check WAHA_BASE_URL (${baseUrl})${opts.apiKey ? ' and WAHA_API_KEY' : ', and set WAHA_API_KEY if WAHA requires a key'}.`;

  /** GET for the read calls: any failure becomes WAHA_UNAVAILABLE / WAHA_REJECTED / SESSION_NOT_FOUND. */
  async function getJson(path: string, what: string, notFound?: () => CampaignError): Promise<unknown> {
    let res: Response;
    try {
      res = await doFetch(`${baseUrl}${path}`, { method: 'GET', headers: headers(false), signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const timedOut = (e as { name?: string })?.name === 'TimeoutError';
      const why = timedOut ? `no answer within ${timeoutMs} ms` : classifyFetchError(e, { timedOut, beforeStart: false, timeoutMs }).kind === 'retryable' ? 'connection refused or host not found' : String((e as Error)?.message ?? e);
      throw new CampaignError('WAHA_UNAVAILABLE', `Could not ${what}: WAHA at ${baseUrl} is not reachable (${why}). ${hint}`, { url: `${baseUrl}${path}` });
    }
    const body = await readBody(res).catch(() => undefined);
    if (res.ok) return body;
    if (res.status === 404 && notFound) throw notFound();
    if (res.status === 401 || res.status === 403) {
      throw new CampaignError('WAHA_REJECTED', `Could not ${what}: WAHA refused the API key (${res.status}). Check WAHA_API_KEY; it must match WAHA's own WAHA_API_KEY.`, { status: res.status });
    }
    const detail = body && typeof body === 'object' ? JSON.stringify(body).slice(0, 300) : String(body ?? '');
    const code = res.status >= 500 ? 'WAHA_UNAVAILABLE' : 'WAHA_REJECTED';
    throw new CampaignError(code, `Could not ${what}: WAHA answered ${res.status}${detail ? ` ${detail}` : ''}. ${hint}`, { status: res.status });
  }

  function toSession(v: unknown): WahaSession {
    const s = (v ?? {}) as Record<string, unknown>;
    const me = s.me as { id?: unknown; pushName?: unknown } | null | undefined;
    const engine = (s.engine as { engine?: unknown } | undefined)?.engine;
    return {
      name: String(s.name ?? ''),
      // Unknown future statuses pass through unchanged (contract §2.1).
      status: typeof s.status === 'string' ? s.status : 'UNKNOWN',
      me: me && typeof me.id === 'string' ? { id: me.id, ...(typeof me.pushName === 'string' ? { pushName: me.pushName } : {}) } : null,
      ...(typeof engine === 'string' ? { engine } : {}),
    };
  }

  return {
    baseUrl,

    async send(endpoint, body, options = {}) {
      const path = endpoint.startsWith('/') ? endpoint : `/api/${endpoint}`;
      if (!isSendEndpoint(path)) {
        throw new CampaignError('VALIDATION_FAILED', `"${endpoint}" is not a WAHA send endpoint this tool may call (allowed: ${SEND_ENDPOINTS.join(', ')}).`, { endpoint });
      }
      if (options.signal?.aborted) return classifyFetchError(undefined, { timedOut: false, beforeStart: true, timeoutMs });
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      let res: Response;
      try {
        res = await doFetch(`${baseUrl}${path}`, { method: 'POST', headers: headers(true), body: JSON.stringify(body), signal });
      } catch (e) {
        return classifyFetchError(e, { timedOut: timeout.aborted, beforeStart: false, timeoutMs });
      }
      let parsed: unknown;
      try {
        parsed = await readBody(res);
      } catch {
        // The status line arrived and only the body was lost: a 2xx still means WAHA took it.
        parsed = undefined;
      }
      return classifySendResponse(res.status, parsed);
    },

    async listSessions() {
      const body = await getJson('/api/sessions?all=true', 'list the WAHA sessions');
      if (!Array.isArray(body)) throw new CampaignError('WAHA_REJECTED', `WAHA's session list is not an array; is ${baseUrl} really WAHA? ${hint}`, {});
      return body.map(toSession);
    },

    async getSession(name) {
      const body = await getJson(`/api/sessions/${encodeURIComponent(name)}`, `read WAHA session "${name}"`, () =>
        new CampaignError('SESSION_NOT_FOUND', `WAHA has no session "${name}". \`campaign sessions\` lists the sessions WAHA has.`, { session: name }),
      );
      return toSession(body);
    },

    async chatMessages(session, chatId, options) {
      const q = new URLSearchParams({ limit: String(options.limit), sortBy: 'timestamp', sortOrder: 'desc', downloadMedia: 'false' });
      if (options.fromMe !== undefined) q.set('filter.fromMe', String(options.fromMe));
      const path = `/api/${encodeURIComponent(session)}/chats/${encodeURIComponent(chatId)}/messages?${q}`;
      const body = await getJson(path, `read the messages of chat ${chatId} on session "${session}"`);
      if (!Array.isArray(body)) return [];
      return body.flatMap((m): ChatMessage[] => {
        const id = typeof m?.id === 'string' ? m.id : typeof m?.id?._serialized === 'string' ? m.id._serialized : undefined;
        if (!id) return [];
        // payload.timestamp is in seconds (contract §7.4); tolerate ms from odd engines.
        const ts = Number(m.timestamp ?? 0);
        return [{ id, rawId: rawMessageId(id), fromMe: Boolean(m.fromMe), timestampMs: ts > 1e12 ? ts : ts * 1000 }];
      });
    },
  };
}
