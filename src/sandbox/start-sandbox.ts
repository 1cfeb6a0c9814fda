// `startSandbox`: a local stand-in for WAHA over real HTTP (node:http, so a held "timeout"
// request and a hung-up client behave exactly as on the wire). WAHA's routes live under /api;
// the sandbox's own control routes under /_sandbox (no API key).
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSendEndpoint } from '../core/waha/send-endpoints.js';
import { bodyText, type Engine, normalizeChatId, type SandboxMessage, sendResponse, waMessage } from './engine-shapes.js';
import { type Faults, parseFaults } from './faults.js';
import { type RecordedRequest, SandboxCore, type SessionState } from './sandbox-core.js';
import { between } from './seeded-random.js';
import { engineProblems, pipeProblems, type Refusal } from './validate-send.js';
import { validateSessionUpdate } from './validate-session-config.js';
import { abortableSleep, WAHA_VERSION, type WebhookAttempt } from './webhook-sender.js';

export interface SandboxOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  engine?: Engine;
  sessions?: string[];
  /** When set, /api answers 401 without a matching X-Api-Key (or ?x-api-key=). */
  apiKey?: string;
  webhookUrl?: string;
  hmacKey?: string;
  /** Events of the --webhook-url webhook (default: message, message.any, message.ack, session.status). */
  webhookEvents?: string[];
  faults?: Partial<Faults>;
  /** Delay before each ack after the first, ms [min, max]; default [200, 1500]. */
  ackDelayMs?: [number, number];
  /** Same seed, same fault draws, ids and jitter. Default: random. */
  seed?: number;
  /** Webhook retries after the first POST (default 3) and the delay between them (default 1000 ms). */
  webhookRetries?: number;
  webhookRetryDelayMs?: number;
  /** Called after each /api request is answered (the CLI logs them). */
  onRequest?: (r: RecordedRequest) => void;
}

export interface Sandbox {
  url: string;
  port: number;
  engine: Engine;
  /** Every /api request, with the status it got. */
  requests: RecordedRequest[];
  /** Every accepted send and injected inbound message. */
  messages: SandboxMessage[];
  /** Every webhook POST attempt and its result. */
  webhooks: WebhookAttempt[];
  faults(): Faults;
  setFaults(f: Partial<Faults>): Faults;
  setSessionStatus(name: string, status: string): void;
  injectMessage(m: { session?: string; from: string; body?: string; text?: string }): SandboxMessage;
  /** Waits until every scheduled webhook and ack has been delivered or given up. */
  idle(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

const BODY_LIMIT = 50 * 1024 * 1024; // WAHA: json({limit:'50mb'})

class HttpError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(String(body.message ?? status));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) reject(new HttpError(413, { message: 'request entity too large', error: 'Payload Too Large', statusCode: 413 }));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, { message: (e as Error).message, error: 'Bad Request', statusCode: 400 });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function keyMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const engine = options.engine ?? 'WEBJS';
  const core = new SandboxCore({
    engine,
    sessions: options.sessions?.length ? options.sessions : ['default'],
    webhookUrl: options.webhookUrl,
    hmacKey: options.hmacKey,
    webhookEvents: options.webhookEvents,
    faults: options.faults ?? {},
    ackDelayMs: options.ackDelayMs ?? [200, 1500],
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    webhookRetries: options.webhookRetries ?? 3,
    webhookRetryDelayMs: options.webhookRetryDelayMs ?? 1000,
  });

  /** WAHA's 500 body (contract §6.1 shape 2), request body echoed as WAHA does. */
  function serverError(req: RecordedRequest, exception: { name: string; message: string }): Record<string, unknown> {
    return {
      statusCode: 500,
      timestamp: new Date().toISOString(),
      exception: { ...exception, stack: `${exception.name}: ${exception.message}\n    at sandbox` },
      request: { path: req.path, method: req.method, body: req.body, query: req.query },
      version: { version: WAHA_VERSION, engine, tier: 'CORE', browser: null, platform: `${process.platform}/${process.arch}`, worker: { id: null } },
    };
  }

  function refusal(r: Refusal, rec: RecordedRequest): [number, Record<string, unknown>] {
    return [r.status, r.exception ? serverError(rec, r.exception) : r.body!];
  }

  /** `getWorkingSession`: 422 for a missing or not-WORKING session (objects without statusCode). */
  function workingSession(name: string): SessionState {
    const s = core.sessions.get(name);
    if (!s) throw new HttpError(422, { error: `Session "${name}" does not exist`, session: name });
    if (s.status !== 'WORKING') {
      throw new HttpError(422, { error: 'Session status is not as expected. Try again later or restart the session', session: name, status: s.status, expected: ['WORKING'] });
    }
    return s;
  }

  async function handleSend(endpoint: string, rec: RecordedRequest, res: ServerResponse): Promise<[number, unknown] | undefined> {
    const body = rec.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, { message: 'the body must be a JSON object', error: 'Bad Request', statusCode: 400 });
    const b = body as Record<string, unknown>;
    const pipe = pipeProblems(endpoint, b);
    if (pipe) return refusal(pipe, rec);
    const s = workingSession(typeof b.session === 'string' && b.session !== '' ? b.session : 'default');
    const f = core.faults;
    const buttonsOrList = endpoint === '/api/sendButtons' || endpoint === '/api/sendList';
    const lacks = (endpoint === '/api/sendButtons' && engine !== 'NOWEB') || (endpoint === '/api/sendList' && engine === 'WEBJS');
    if (buttonsOrList && (lacks || f.notImplementedButtons)) {
      return [501, { message: `The method is not implemented by '${engine}' engine. Check the docs and try another engine: https://waha.devlike.pro/`, error: 'Not Implemented', statusCode: 501 }];
    }
    const problem = engineProblems(endpoint, b);
    if (problem) return refusal(problem, rec);
    if (core.chance(f.errorRate5xx)) return refusal({ status: 500, exception: { name: 'Error', message: '2 UNKNOWN: server returned error 500 (sandbox fault errorRate5xx)' } }, rec);

    const m = core.recordSend(s, endpoint, b, bodyText(endpoint, b));
    const held = core.chance(f.timeoutRate);
    if (f.acksBeforeResponse) await core.emitEarly(s, m);
    core.startLifecycle(s, m, { skipFirst: f.acksBeforeResponse });
    if (f.dropSessionAfter !== null && s.sendsSinceFaults >= f.dropSessionAfter) {
      // The phone logged out: the next sends get 422 until someone scans the QR again.
      setImmediate(() => core.setSessionStatus(s.name, 'SCAN_QR_CODE'));
    }
    if (held) {
      // The message is "sent" (recorded, webhooks flow) but the answer comes too late: the
      // client times out and must mark the row UNKNOWN, then reconcile it (promise 2).
      await new Promise<void>((resolve) => {
        res.once('close', () => resolve());
        void abortableSleep(f.timeoutHoldMs, core.closed).then(resolve);
      });
    }
    return [201, sendResponse(engine, s.me.id, m)];
  }

  function chatMessages(session: string, chatId: string, query: Record<string, string>): unknown[] {
    workingSession(session);
    const chat = normalizeChatId(chatId);
    const limit = Number(query.limit ?? 10);
    const fromMe = query['filter.fromMe'];
    const gte = query['filter.timestamp.gte'];
    const lte = query['filter.timestamp.lte'];
    const desc = (query.sortOrder ?? 'desc') === 'desc';
    const list = core.messages
      .filter((m) => m.session === session && m.chatId === chat)
      .filter((m) => fromMe === undefined || String(m.fromMe) === fromMe)
      .filter((m) => gte === undefined || m.timestamp >= Number(gte))
      .filter((m) => lte === undefined || m.timestamp <= Number(lte))
      .map((m, i) => ({ m, i }))
      .sort((a, b) => (a.m.timestamp - b.m.timestamp || a.i - b.i) * (desc ? -1 : 1))
      .slice(Number(query.offset ?? 0), Number(query.offset ?? 0) + (Number.isFinite(limit) && limit > 0 ? limit : 10));
    const me = core.sessions.get(session)!.me.id;
    return list.map(({ m }) => waMessage(engine, me, m));
  }

  async function api(rec: RecordedRequest, res: ServerResponse): Promise<[number, unknown] | undefined> {
    const f = core.faults;
    const latency = Array.isArray(f.latencyMs) ? between(() => core.random(), f.latencyMs) : f.latencyMs;
    if (latency > 0) await abortableSleep(latency, core.closed);
    const { method, path } = rec;
    if (method === 'POST' && isSendEndpoint(path)) return handleSend(path, rec, res);
    if (method === 'GET' && path === '/api/sessions') {
      const all = rec.query.all === 'true';
      return [200, [...core.sessions.values()].filter((s) => all || s.status !== 'STOPPED').map((s) => core.sessionInfo(s, false))];
    }
    const one = /^\/api\/sessions\/([^/]+)$/.exec(path);
    if (method === 'GET' && one) {
      const s = core.sessions.get(decodeURIComponent(one[1]!));
      if (!s) return [404, { message: 'Session not found', error: 'Not Found', statusCode: 404 }];
      return [200, core.sessionInfo(s, true)];
    }
    if (method === 'PUT' && one) {
      // The sessions endpoints run WAHA's validation pipe: 400 with every problem (§2.4).
      const name = decodeURIComponent(one[1]!);
      if (!core.sessions.has(name)) return [404, { message: 'Session not found', error: 'Not Found', statusCode: 404 }];
      const checked = validateSessionUpdate(rec.body ?? {});
      if (!checked.ok) return [400, { message: checked.messages, error: 'Bad Request', statusCode: 400 }];
      return [200, core.sessionInfo(core.setSessionConfig(name, checked.config)!, true)];
    }
    const chat = /^\/api\/([^/]+)\/chats\/([^/]+)\/messages$/.exec(path);
    if (method === 'GET' && chat) return [200, chatMessages(decodeURIComponent(chat[1]!), decodeURIComponent(chat[2]!), rec.query)];
    return [404, { message: `Cannot ${method} ${path}`, error: 'Not Found', statusCode: 404 }];
  }

  function control(method: string, path: string, body: unknown): [number, unknown] {
    const b = (body ?? {}) as Record<string, unknown>;
    if (method === 'GET' && path === '/_sandbox/messages') {
      return [200, core.messages.filter((m) => m.fromMe).map((m) => ({ endpoint: m.endpoint, session: m.session, chatId: m.chatId, body: m.body, messageId: m.messageId, rawId: m.rawId, ack: m.ack, at: m.at }))];
    }
    if (method === 'GET' && path === '/_sandbox/requests') return [200, core.requests];
    if (method === 'GET' && path === '/_sandbox/webhooks') return [200, core.webhookAttempts];
    if (method === 'GET' && path === '/_sandbox/faults') return [200, core.faults];
    if (method === 'POST' && path === '/_sandbox/faults') return [200, core.setFaults(parseFaults(body))];
    if (method === 'POST' && path === '/_sandbox/reset') {
      core.reset();
      return [200, { reset: true }];
    }
    if (method === 'POST' && path === '/_sandbox/inbound') {
      const text = typeof b.text === 'string' ? b.text : typeof b.body === 'string' ? b.body : undefined;
      if (typeof b.from !== 'string' || text === undefined) throw new HttpError(400, { message: 'inbound needs {"session"?, "from": "<digits or chat id>", "text": "..."}', statusCode: 400 });
      const session = typeof b.session === 'string' ? b.session : 'default';
      if (!core.sessions.has(session)) throw new HttpError(404, { message: `no session "${session}"`, statusCode: 404 });
      const m = core.inject(session, b.from, text);
      return [201, waMessage(engine, core.sessions.get(session)!.me.id, m)];
    }
    const st = /^\/_sandbox\/sessions\/([^/]+)\/status$/.exec(path);
    if (method === 'POST' && st) {
      if (typeof b.status !== 'string' || b.status === '') throw new HttpError(400, { message: 'needs {"status": "WORKING" | "SCAN_QR_CODE" | "STOPPED" | "FAILED" | ...}', statusCode: 400 });
      const s = core.setSessionStatus(decodeURIComponent(st[1]!), b.status);
      return [200, core.sessionInfo(s, true)];
    }
    return [404, { message: `Cannot ${method} ${path}`, error: 'Not Found', statusCode: 404 }];
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const method = req.method ?? 'GET';
    const rec: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      apiKeyGiven: req.headers['x-api-key'] !== undefined || url.searchParams.has('x-api-key'),
      body: undefined,
      at: new Date().toISOString(),
    };
    void (async () => {
      let status = 500;
      let out: unknown;
      try {
        const text = await readBody(req);
        if (url.pathname.startsWith('/_sandbox/')) {
          [status, out] = control(method, url.pathname, parseJson(text));
        } else if (url.pathname.startsWith('/api/')) {
          core.requests.push(rec);
          rec.body = text === '' ? undefined : (() => { try { return JSON.parse(text); } catch { return text; } })();
          const given = (req.headers['x-api-key'] as string | undefined) ?? url.searchParams.get('x-api-key') ?? undefined;
          if (options.apiKey && !keyMatches(given, options.apiKey)) {
            [status, out] = [401, { message: 'Unauthorized', statusCode: 401 }];
          } else {
            parseJson(text);
            const r = await api(rec, res);
            if (r) [status, out] = r;
          }
        } else {
          [status, out] = [404, { message: `Cannot ${method} ${url.pathname}`, error: 'Not Found', statusCode: 404 }];
        }
      } catch (e) {
        if (e instanceof HttpError) [status, out] = [e.status, e.body];
        else if ((e as { code?: string }).code === 'USAGE') [status, out] = [400, { message: (e as Error).message, error: 'Bad Request', statusCode: 400 }];
        else [status, out] = [500, { statusCode: 500, message: String((e as Error)?.message ?? e) }];
      }
      rec.status = status;
      send(res, status, out);
      if (rec.path.startsWith('/api/')) options.onRequest?.(rec);
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    engine,
    requests: core.requests,
    messages: core.messages,
    webhooks: core.webhookAttempts,
    faults: () => core.faults,
    setFaults: (f) => core.setFaults(parseFaults(f)),
    setSessionStatus: (name, status) => void core.setSessionStatus(name, status),
    injectMessage: (m) => core.inject(m.session ?? 'default', m.from, m.text ?? m.body ?? ''),
    idle: () => core.idle(),
    reset: () => core.reset(),
    async close() {
      core.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await core.idle();
    },
  };
}
