// The WAHA client against the sandbox over real HTTP: each engine's id shape (contract §5) and
// every SendOutcome kind. The retryable/unknown line is promise 2: only a failure that proves the
// request never left may be retried; a timeout after it left must be UNKNOWN, never re-sent.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CampaignError } from '../../src/core/errors.js';
import { createWahaClient, messageIdFromResponse, rawMessageId } from '../../src/core/waha/index.js';
import { type Engine, type Sandbox, startSandbox } from '../../src/sandbox/index.js';

const CHAT = '243810000777@c.us';
const text = (extra: Record<string, unknown> = {}) => ({ session: 'default', chatId: CHAT, text: 'Hello', ...extra });

let sandboxes: Sandbox[] = [];
async function sandbox(o: Parameters<typeof startSandbox>[0] = {}): Promise<Sandbox> {
  const s = await startSandbox({ seed: 7, ackDelayMs: [1, 2], ...o });
  sandboxes.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
  sandboxes = [];
});

/** A port nothing listens on: bind, note the port, close. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('message ids per engine (contract §5.1)', () => {
  it.each([
    ['WEBJS', (raw: string) => `true_${CHAT}_${raw}`],
    ['NOWEB', (raw: string) => raw],
    ['GOWS', (raw: string) => `true_${CHAT}_${raw}`],
  ] as Array<[Engine, (raw: string) => string]>)('%s: accepted with the id as WAHA returned it and the raw id acks match on', async (engine, expected) => {
    const sb = await sandbox({ engine });
    const waha = createWahaClient({ baseUrl: sb.url });
    const out = await waha.send('/api/sendText', text());
    const sent = sb.messages.at(-1)!;
    expect(out).toEqual({ kind: 'accepted', messageId: expected(sent.rawId), rawId: sent.rawId });
    expect(sent.rawId).toMatch(/^3EB0[0-9A-F]{18}$/);
  });

  it('NOWEB answers sendPoll with a normalized WAMessage (top-level serialized id)', async () => {
    const sb = await sandbox({ engine: 'NOWEB' });
    const out = await createWahaClient({ baseUrl: sb.url }).send('/api/sendPoll', { session: 'default', chatId: CHAT, poll: { name: 'Q?', options: ['a', 'b'], multipleAnswers: false } });
    expect(out).toMatchObject({ kind: 'accepted', messageId: `true_${CHAT}_${sb.messages[0]!.rawId}`, rawId: sb.messages[0]!.rawId });
  });

  it('reads every shape, including an empty body (WEBJS 2025.6.5) and the raw id of any serialized id', () => {
    expect(messageIdFromResponse({ id: { _serialized: 'true_1@c.us_A', id: 'A' } })).toBe('true_1@c.us_A');
    expect(messageIdFromResponse({ _data: { id: { _serialized: 'true_1@c.us_B' } } })).toBe('true_1@c.us_B');
    expect(messageIdFromResponse({ key: { id: 'C', remoteJid: '1@s.whatsapp.net' } })).toBe('C');
    expect(messageIdFromResponse({ id: 'true_1@lid_D' })).toBe('true_1@lid_D');
    expect(messageIdFromResponse(undefined)).toBeUndefined();
    expect(messageIdFromResponse('')).toBeUndefined();
    expect(rawMessageId('true_123@g.us_ABC_999@c.us')).toBe('ABC');
    expect(rawMessageId('false_1@s.whatsapp.net_XYZ')).toBe('XYZ');
    expect(rawMessageId('3EB0ABC')).toBe('3EB0ABC');
  });

  it('an empty 201 body is still accepted (with no id), never retried', async () => {
    const waha = createWahaClient({ baseUrl: 'http://waha.test', fetch: async () => new Response('', { status: 201 }) });
    expect(await waha.send('/api/sendText', text())).toEqual({ kind: 'accepted', messageId: '', rawId: '' });
  });
});

describe('outcomes', () => {
  it('sends X-Api-Key; without it WAHA answers 401 and the session is held (not the recipient failed)', async () => {
    const sb = await sandbox({ apiKey: 'secret-key' });
    expect(await createWahaClient({ baseUrl: sb.url, apiKey: 'secret-key' }).send('/api/sendText', text())).toMatchObject({ kind: 'accepted' });
    const bad = await createWahaClient({ baseUrl: sb.url, apiKey: 'wrong' }).send('/api/sendText', text());
    expect(bad).toMatchObject({ kind: 'session_unavailable', status: 'UNAUTHORIZED' });
    expect((bad as { reason: string }).reason).toContain('WAHA_API_KEY');
    expect(sb.requests.map((r) => [r.apiKeyGiven, r.status])).toEqual([[true, 201], [true, 401]]);
    await expect(createWahaClient({ baseUrl: sb.url }).listSessions()).rejects.toMatchObject({ code: 'WAHA_REJECTED', message: expect.stringContaining('WAHA_API_KEY') });
  });

  it('unknown session: 422 on send → session_unavailable; 404 on getSession → SESSION_NOT_FOUND', async () => {
    const sb = await sandbox();
    const waha = createWahaClient({ baseUrl: sb.url });
    expect(await waha.send('/api/sendText', text({ session: 'ghost' }))).toMatchObject({ kind: 'session_unavailable', status: 'NOT_FOUND' });
    await expect(waha.getSession('ghost')).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(sb.messages).toHaveLength(0);
  });

  it('session not WORKING: 422 → session_unavailable with WAHA status', async () => {
    const sb = await sandbox({ sessions: ['default', 'other'] });
    sb.setSessionStatus('default', 'SCAN_QR_CODE');
    const waha = createWahaClient({ baseUrl: sb.url });
    expect(await waha.send('/api/sendText', text())).toMatchObject({ kind: 'session_unavailable', status: 'SCAN_QR_CODE' });
    expect(await waha.getSession('default')).toMatchObject({ name: 'default', status: 'SCAN_QR_CODE', me: null });
    expect((await waha.listSessions()).map((s) => [s.name, s.status])).toEqual([['default', 'SCAN_QR_CODE'], ['other', 'WORKING']]);
  });

  it('500 → retryable (nothing was sent)', async () => {
    const sb = await sandbox({ faults: { errorRate5xx: 1 } });
    expect(await createWahaClient({ baseUrl: sb.url }).send('/api/sendText', text())).toMatchObject({ kind: 'retryable', status: 500 });
    expect(sb.messages).toHaveLength(0);
  });

  it('501 for buttons on WEBJS and GOWS, and for buttons/list with the fault on NOWEB → not_implemented', async () => {
    const buttons = { session: 'default', chatId: CHAT, body: 'Pick', buttons: [{ type: 'reply', text: 'Yes' }] };
    const list = { session: 'default', chatId: CHAT, message: { title: 'T', button: 'B', sections: [{ title: 'S', rows: [{ title: 'R', rowId: 'r1' }] }] } };
    for (const engine of ['WEBJS', 'GOWS'] as const) {
      const sb = await sandbox({ engine });
      expect(await createWahaClient({ baseUrl: sb.url }).send('/api/sendButtons', buttons)).toMatchObject({ kind: 'not_implemented', status: 501 });
    }
    const sb = await sandbox({ engine: 'NOWEB' });
    const waha = createWahaClient({ baseUrl: sb.url });
    expect(await waha.send('/api/sendButtons', buttons)).toMatchObject({ kind: 'accepted' });
    expect(await waha.send('/api/sendList', list)).toMatchObject({ kind: 'accepted' });
    sb.setFaults({ notImplementedButtons: true });
    expect(await waha.send('/api/sendButtons', buttons)).toMatchObject({ kind: 'not_implemented' });
    expect(await waha.send('/api/sendList', list)).toMatchObject({ kind: 'not_implemented' });
  });

  it('other 4xx → rejected: 400 from the validation pipe, 422 list to a group', async () => {
    const sb = await sandbox({ engine: 'NOWEB' });
    const waha = createWahaClient({ baseUrl: sb.url });
    const tooMany = await waha.send('/api/sendButtons', { session: 'default', chatId: CHAT, buttons: [1, 2, 3, 4, 5].map((i) => ({ text: `b${i}` })) });
    expect(tooMany).toMatchObject({ kind: 'rejected', status: 400, error: expect.stringContaining('no more than 4') });
    const group = await waha.send('/api/sendList', { session: 'default', chatId: '120363000000@g.us', message: { title: 'T', button: 'B', sections: [{ title: 'S', rows: [{ title: 'R', rowId: 'r' }] }] } });
    expect(group).toMatchObject({ kind: 'rejected', status: 422, error: 'List message can only be sent to a direct message chat.' });
  });

  it('promise 2: a timeout after the request left → unknown, and WAHA\'s record proves the send', async () => {
    const sb = await sandbox({ faults: { timeoutRate: 1, timeoutHoldMs: 5000 } });
    const waha = createWahaClient({ baseUrl: sb.url, timeoutMs: 300 });
    const out = await waha.send('/api/sendText', text());
    expect(out).toMatchObject({ kind: 'unknown', error: expect.stringContaining('300 ms') });
    expect(sb.messages).toHaveLength(1);
    sb.setFaults({ timeoutRate: 0 });
    const history = await waha.chatMessages('default', CHAT, { limit: 5, fromMe: true });
    expect(history).toEqual([{ id: sb.messages[0]!.messageId, rawId: sb.messages[0]!.rawId, fromMe: true, timestampMs: sb.messages[0]!.timestamp * 1000 }]);
  });

  it('connection refused before the request left → retryable; a socket reset after it left → unknown', async () => {
    const refused = createWahaClient({ baseUrl: `http://127.0.0.1:${await closedPort()}` });
    expect(await refused.send('/api/sendText', text())).toMatchObject({ kind: 'retryable', error: expect.stringContaining('ECONNREFUSED') });
    const dns = createWahaClient({ baseUrl: 'http://waha.invalid' });
    expect(await dns.send('/api/sendText', text())).toMatchObject({ kind: 'retryable' });

    const resetter: Server = createServer((req) => req.on('data', () => req.socket.destroy()));
    await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', r));
    try {
      const waha = createWahaClient({ baseUrl: `http://127.0.0.1:${(resetter.address() as AddressInfo).port}` });
      expect(await waha.send('/api/sendText', text())).toMatchObject({ kind: 'unknown' });
    } finally {
      resetter.close();
    }
  });

  it('a caller abort in flight → unknown; before it starts → retryable', async () => {
    const sb = await sandbox({ faults: { latencyMs: 2000 } });
    const waha = createWahaClient({ baseUrl: sb.url });
    expect(await waha.send('/api/sendText', text(), { signal: AbortSignal.timeout(100) })).toMatchObject({ kind: 'unknown' });
    expect(await waha.send('/api/sendText', text(), { signal: AbortSignal.abort() })).toMatchObject({ kind: 'retryable' });
  });

  it('a gateway timeout (504) → unknown; 502/503 → retryable', async () => {
    const answer = (status: number) => createWahaClient({ baseUrl: 'http://waha.test', fetch: async () => new Response('<html>', { status }) });
    expect(await answer(504).send('/api/sendText', text())).toMatchObject({ kind: 'unknown' });
    expect(await answer(503).send('/api/sendText', text())).toMatchObject({ kind: 'retryable', status: 503 });
  });

  it('only the template send endpoints may be called', async () => {
    const waha = createWahaClient({ baseUrl: 'http://waha.test', fetch: async () => new Response('{}', { status: 201 }) });
    await expect(waha.send('/api/sessions/default/logout', {})).rejects.toBeInstanceOf(CampaignError);
    await expect(waha.send('/api/sendSeen', {})).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await waha.send('sendText', text())).toMatchObject({ kind: 'accepted' });
  });
});

describe('read calls', () => {
  it('listSessions / getSession fail with WAHA_UNAVAILABLE naming WAHA_BASE_URL when WAHA is down', async () => {
    const waha = createWahaClient({ baseUrl: `http://127.0.0.1:${await closedPort()}` });
    await expect(waha.listSessions()).rejects.toMatchObject({ code: 'WAHA_UNAVAILABLE', message: expect.stringContaining('WAHA_BASE_URL'), exitCode: 8 });
    await expect(waha.getSession('default')).rejects.toMatchObject({ code: 'WAHA_UNAVAILABLE' });
  });

  it('chatMessages returns sent and received messages, newest first, filtered by fromMe', async () => {
    const sb = await sandbox({ engine: 'GOWS' });
    const waha = createWahaClient({ baseUrl: sb.url });
    await waha.send('/api/sendText', text({ text: 'one' }));
    await waha.send('/api/sendText', text({ text: 'two' }));
    sb.injectMessage({ session: 'default', from: '243810000777', body: 'STOP' });
    const all = await waha.chatMessages('default', CHAT, { limit: 10 });
    expect(all.map((m) => m.fromMe)).toEqual([false, true, true]);
    expect(all[1]!.rawId).toBe(sb.messages[1]!.rawId);
    const mine = await waha.chatMessages('default', CHAT, { limit: 1, fromMe: true });
    expect(mine).toHaveLength(1);
    expect(mine[0]!.timestampMs).toBeGreaterThan(Date.now() - 60_000);
    expect(sb.requests.at(-1)!.query).toMatchObject({ limit: '1', 'filter.fromMe': 'true' });
  });
});
