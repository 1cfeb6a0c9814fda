// The sandbox behaves like WAHA where this project depends on it: webhooks signed as WAHA signs
// them (contract §7.2) and retried (§7.3), acks in order, and every injectable fault.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createWahaClient } from '../../src/core/waha/index.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/index.js';

const CHAT = '243810000555@c.us';
const HMAC_KEY = 'webhook-secret';

interface Received {
  raw: string;
  headers: IncomingHttpHeaders;
  body: any;
}

/** A webhook receiver that stores the raw bytes; `fail(n)` answers 500 to the first n requests. */
async function receiver(): Promise<{ url: string; got: Received[]; failFirst(n: number): void; close(): Promise<void> }> {
  const got: Received[] = [];
  let failing = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failing > 0) {
        failing--;
        res.writeHead(500).end('down');
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      got.push({ raw, headers: req.headers, body: JSON.parse(raw) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/waha`,
    got,
    failFirst: (n) => void (failing = n),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(o: SandboxOptions = {}) {
  const rx = await receiver();
  const sb: Sandbox = await startSandbox({ seed: 42, ackDelayMs: [1, 5], webhookUrl: rx.url, hmacKey: HMAC_KEY, webhookRetryDelayMs: 20, ...o });
  cleanups.push(rx.close, sb.close);
  const waha = createWahaClient({ baseUrl: sb.url, apiKey: o.apiKey });
  const send = (extra: Record<string, unknown> = {}) => waha.send('/api/sendText', { session: 'default', chatId: CHAT, text: 'Hi', ...extra });
  const events = (name: string) => rx.got.filter((g) => g.body.event === name).map((g) => g.body);
  return { rx, sb, waha, send, events };
}

async function control(sb: Sandbox, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sb.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('webhooks', () => {
  it('are signed with X-Webhook-Hmac: HMAC-SHA512 hex of the raw body, verifiable by the receiver', async () => {
    const { rx, sb, send } = await setup();
    await send();
    await sb.idle();
    expect(rx.got.length).toBe(4);
    for (const g of rx.got) {
      expect(g.headers['x-webhook-hmac-algorithm']).toBe('sha512');
      expect(g.headers['x-webhook-hmac']).toBe(createHmac('sha512', HMAC_KEY).update(g.raw).digest('hex'));
      expect(g.headers['x-webhook-hmac']).not.toBe(createHmac('sha512', 'another-key').update(g.raw).digest('hex'));
      expect(g.headers['x-webhook-timestamp']).toBe(String(g.body.timestamp));
      expect(g.headers['x-webhook-request-id']).toMatch(/\w+/);
      expect(g.headers['content-type']).toBe('application/json');
    }
  });

  it('use WAHA\'s envelope: id, timestamp (ms), event, session, me, payload, engine, environment', async () => {
    const { rx, sb, send } = await setup({ engine: 'NOWEB' });
    await send();
    await sb.idle();
    const e = rx.got[0]!.body;
    expect(Object.keys(e)).toEqual(['id', 'timestamp', 'event', 'session', 'me', 'payload', 'engine', 'environment']);
    expect(e).toMatchObject({ event: 'message.any', session: 'default', engine: 'NOWEB', me: { id: expect.stringMatching(/@c\.us$/) }, environment: { engine: 'NOWEB', tier: 'CORE' } });
    expect(e.id).toMatch(/^evt_[0-9a-z]{26}$/);
    expect(e.timestamp).toBeGreaterThan(1e12);
    expect(e.payload).toMatchObject({ id: `true_${CHAT}_${sb.messages[0]!.rawId}`, fromMe: true, source: 'api', body: 'Hi' });
    expect(new Set(rx.got.map((g) => g.body.id)).size).toBe(rx.got.length);
  });

  it('message.any comes first, then message.ack SERVER → DEVICE → READ for each message', async () => {
    const { sb, send, rx } = await setup({ ackDelayMs: [1, 20] });
    await Promise.all([send({ text: 'a' }), send({ text: 'b' }), send({ text: 'c' })]);
    await sb.idle();
    for (const m of sb.messages) {
      const mine = rx.got.map((g) => g.body).filter((b) => b.payload.id === m.messageId);
      expect(mine.map((b) => `${b.event}:${b.payload.ackName ?? ''}`)).toEqual(['message.any:SERVER', 'message.ack:SERVER', 'message.ack:DEVICE', 'message.ack:READ']);
      expect(mine.slice(1).map((b) => b.payload.ack)).toEqual([1, 2, 3]);
    }
  });

  it('are retried on non-2xx with the same envelope id and request id, then delivered', async () => {
    const { rx, sb, send } = await setup({ webhookRetries: 3 });
    rx.failFirst(2);
    await send();
    await sb.idle();
    const first = sb.webhooks.filter((w) => w.envelopeId === sb.webhooks[0]!.envelopeId);
    expect(first.map((w) => w.status)).toEqual([500, 500, 200]);
    expect(new Set(first.map((w) => w.requestId)).size).toBe(1);
    expect(rx.got.map((g) => g.body.event)).toEqual(['message.any', 'message.ack', 'message.ack', 'message.ack']);
  });

  it('give up after the last retry, and retry on connection errors too', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const sb = await startSandbox({ webhookUrl: `http://127.0.0.1:${port}/refused`, webhookRetries: 2, webhookRetryDelayMs: 5, ackDelayMs: [1, 1], faults: { lostAckRate: 1 } });
    cleanups.push(sb.close);
    await createWahaClient({ baseUrl: sb.url }).send('/api/sendText', { session: 'default', chatId: CHAT, text: 'x' });
    await sb.idle();
    expect(sb.webhooks.map((w) => w.attempt)).toEqual([1, 2, 3]);
    expect(sb.webhooks.every((w) => w.status === undefined && w.error === 'ECONNREFUSED')).toBe(true);
  });

  it('inbound messages (an opt-out keyword) arrive as `message`, fromMe false, from the contact', async () => {
    const { sb, events } = await setup({ engine: 'WEBJS' });
    const r = await control(sb, 'POST', '/_sandbox/inbound', { session: 'default', from: '+243810000555', text: 'STOP' });
    expect(r.status).toBe(201);
    await sb.idle();
    const [m] = events('message');
    expect(m.payload).toMatchObject({ body: 'STOP', fromMe: false, from: CHAT, id: expect.stringMatching(new RegExp(`^false_${CHAT}_[0-9A-F]{32}$`)) });
    sb.injectMessage({ from: '243810000556', body: 'hello' });
    await sb.idle();
    expect(events('message').map((e) => e.payload.body)).toEqual(['STOP', 'hello']);
  });

  it('session.status on every status change', async () => {
    const { sb, events } = await setup();
    const r = await control(sb, 'POST', '/_sandbox/sessions/default/status', { status: 'FAILED' });
    expect(r.json).toMatchObject({ name: 'default', status: 'FAILED', me: null });
    sb.setSessionStatus('default', 'WORKING');
    await sb.idle();
    expect(events('session.status').map((e) => [e.payload.name, e.payload.status])).toEqual([['default', 'FAILED'], ['default', 'WORKING']]);
    expect(events('session.status')[1].payload.statuses.map((s: any) => s.status)).toEqual(['WORKING', 'FAILED', 'WORKING']);
  });
});

describe('WAHA behaviour', () => {
  it('401 without the API key on /api (header or ?x-api-key=), control routes stay open', async () => {
    const { sb } = await setup({ apiKey: 'k1' });
    const bare = await fetch(`${sb.url}/api/sessions`);
    expect(bare.status).toBe(401);
    expect(await bare.json()).toEqual({ message: 'Unauthorized', statusCode: 401 });
    expect((await fetch(`${sb.url}/api/sessions?x-api-key=k1`)).status).toBe(200);
    expect((await control(sb, 'GET', '/_sandbox/messages')).status).toBe(200);
  });

  it('sessions: list hides STOPPED unless all=true; single GET adds engine; 404 body for an unknown one', async () => {
    const { sb } = await setup({ sessions: ['a', 'b'], engine: 'GOWS' });
    sb.setSessionStatus('b', 'STOPPED');
    expect(((await (await fetch(`${sb.url}/api/sessions`)).json()) as any[]).map((s: any) => s.name)).toEqual(['a']);
    expect(((await (await fetch(`${sb.url}/api/sessions?all=true`)).json()) as any[]).map((s: any) => s.status)).toEqual(['WORKING', 'STOPPED']);
    expect(await (await fetch(`${sb.url}/api/sessions/a`)).json()).toMatchObject({ name: 'a', status: 'WORKING', engine: { engine: 'GOWS' }, presence: 'online' });
    const missing = await fetch(`${sb.url}/api/sessions/zzz`);
    expect([missing.status, await missing.json()]).toEqual([404, { message: 'Session not found', error: 'Not Found', statusCode: 404 }]);
  });

  it('a malformed body on an unvalidated endpoint fails inside the engine as WAHA\'s 500 (request echoed)', async () => {
    const { sb } = await setup();
    const res = await fetch(`${sb.url}/api/sendText`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: 'default', text: 'no chat' }) });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ statusCode: 500, exception: { name: 'TypeError' }, request: { path: '/api/sendText', method: 'POST', body: { text: 'no chat' } }, version: { engine: 'WEBJS' } });
  });

  it('GET /_sandbox/messages lists every accepted send; /_sandbox/reset clears them', async () => {
    const { sb, send } = await setup();
    await send({ text: 'one' });
    const r = await control(sb, 'GET', '/_sandbox/messages');
    expect(r.json).toEqual([{ endpoint: '/api/sendText', session: 'default', chatId: CHAT, body: { session: 'default', chatId: CHAT, text: 'one' }, messageId: sb.messages[0]!.messageId, rawId: sb.messages[0]!.rawId, ack: expect.any(Number), at: expect.any(String) }]);
    expect((await control(sb, 'GET', '/_sandbox/requests')).json).toHaveLength(1);
    await sb.idle();
    await control(sb, 'POST', '/_sandbox/reset');
    expect((await control(sb, 'GET', '/_sandbox/messages')).json).toEqual([]);
  });

  it('the same seed gives the same ids', async () => {
    const a = await setup({ seed: 5 });
    const b = await setup({ seed: 5 });
    await a.send();
    await b.send();
    expect(a.sb.messages[0]!.rawId).toBe(b.sb.messages[0]!.rawId);
  });
});

describe('faults', () => {
  it('latencyMs delays every answer', async () => {
    const { send } = await setup({ faults: { latencyMs: [150, 200] } });
    const t = Date.now();
    expect(await send()).toMatchObject({ kind: 'accepted' });
    expect(Date.now() - t).toBeGreaterThanOrEqual(140);
  });

  it('timeoutRate holds the answer past the client timeout but still sends (webhooks flow)', async () => {
    const { sb, events } = await setup({ faults: { timeoutRate: 1, timeoutHoldMs: 10_000 } });
    const waha = createWahaClient({ baseUrl: sb.url, timeoutMs: 200 });
    expect(await waha.send('/api/sendText', { session: 'default', chatId: CHAT, text: 'x' })).toMatchObject({ kind: 'unknown' });
    await sb.idle();
    expect(events('message.any').map((e) => e.payload.id)).toEqual([sb.messages[0]!.messageId]);
  });

  it('errorRate5xx answers 500 and sends nothing', async () => {
    const { sb, send } = await setup({ faults: { errorRate5xx: 1 } });
    expect(await send()).toMatchObject({ kind: 'retryable', status: 500 });
    await sb.idle();
    expect(sb.messages).toHaveLength(0);
    expect(sb.webhooks).toHaveLength(0);
  });

  it('errorRate5xx at 0.5 with a seed fails some sends, not all', async () => {
    const { send } = await setup({ faults: { errorRate5xx: 0.5 }, seed: 3 });
    const kinds = [];
    for (let i = 0; i < 20; i++) kinds.push((await send()).kind);
    expect(kinds).toContain('retryable');
    expect(kinds).toContain('accepted');
  });

  it('notImplementedButtons gives 501 even on NOWEB', async () => {
    const { waha } = await setup({ engine: 'NOWEB', faults: { notImplementedButtons: true } });
    expect(await waha.send('/api/sendButtons', { session: 'default', chatId: CHAT, buttons: [{ type: 'reply', text: 'ok' }] })).toMatchObject({ kind: 'not_implemented', status: 501 });
  });

  it('lostAckRate: message.any arrives, acks never do', async () => {
    const { sb, send, events } = await setup({ faults: { lostAckRate: 1 } });
    await send();
    await sb.idle();
    expect(events('message.any')).toHaveLength(1);
    expect(events('message.ack')).toHaveLength(0);
  });

  it('duplicateWebhookRate: each event delivered twice with the same envelope id', async () => {
    const { sb, send, rx } = await setup({ faults: { duplicateWebhookRate: 1 } });
    await send();
    await sb.idle();
    expect(rx.got).toHaveLength(8);
    const ids = rx.got.map((g) => g.body.id);
    expect(new Set(ids).size).toBe(4);
  });

  it('acksBeforeResponse: message.any and the SERVER ack reach the receiver before the HTTP answer', async () => {
    const { sb, send, rx } = await setup({ faults: { acksBeforeResponse: true } });
    const out = await send();
    const seenBeforeAnswer = rx.got.map((g) => `${g.body.event}:${g.body.payload.ack}`);
    expect(out).toMatchObject({ kind: 'accepted' });
    expect(seenBeforeAnswer).toEqual(['message.any:1', 'message.ack:1']);
    await sb.idle();
    expect(rx.got.map((g) => g.body.payload.ack)).toEqual([1, 1, 2, 3]);
  });

  it('dropSessionAfter: after N sends the session goes to SCAN_QR_CODE and sends get 422', async () => {
    const { sb, send, events, waha } = await setup({ faults: { dropSessionAfter: 2 } });
    expect((await send()).kind).toBe('accepted');
    expect((await send()).kind).toBe('accepted');
    await new Promise((r) => setImmediate(r));
    expect(await send()).toMatchObject({ kind: 'session_unavailable', status: 'SCAN_QR_CODE' });
    expect(await waha.getSession('default')).toMatchObject({ status: 'SCAN_QR_CODE' });
    await sb.idle();
    expect(events('session.status').map((e) => e.payload.status)).toEqual(['SCAN_QR_CODE']);
    sb.setSessionStatus('default', 'WORKING');
    expect((await send()).kind).toBe('accepted');
  });

  it('faults can be set at run time over HTTP (JSON), and bad ones are refused with a reason', async () => {
    const { sb, send } = await setup();
    expect((await control(sb, 'POST', '/_sandbox/faults', { errorRate5xx: 1 })).json).toMatchObject({ errorRate5xx: 1 });
    expect((await send()).kind).toBe('retryable');
    const bad = await control(sb, 'POST', '/_sandbox/faults', { errorRate: 2 });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('did you mean "errorRate5xx"');
    expect((await control(sb, 'POST', '/_sandbox/faults', { timeoutRate: 3 })).status).toBe(400);
    await control(sb, 'POST', '/_sandbox/faults', { errorRate5xx: 0 });
    expect((await send()).kind).toBe('accepted');
  });
});
