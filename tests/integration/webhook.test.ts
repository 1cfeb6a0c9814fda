// The WAHA webhook receiver (issue 5, contract §7) through the real Fastify app (inject) on real
// Postgres. Each test names the promise it tries to break and fails if the receiver stops
// keeping it: promise 6 (stored once, matched or not), acks forward only, promise 2
// (reconciliation from message.any), promise 4 (an inbound opt-out stops every pending row).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import type { Config } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { createWahaClient } from '../../src/core/waha/index.js';
import { ingestWahaEvent, signWahaBody, webhookUrlToken } from '../../src/core/webhooks/index.js';
import { claimNext } from '../../src/core/worker/claim-next.js';
import { recordOutcome } from '../../src/core/worker/record-outcome.js';
import { runWorker } from '../../src/core/worker/run-worker.js';
import { getSettings } from '../../src/core/settings/settings.service.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { ackPayload, ENGINES, type Engine, type SandboxMessage } from '../../src/sandbox/engine-shapes.js';
import { runningOverview } from '../../src/core/worker/running-overview.js';
import { showCampaign } from '../../src/core/campaigns/campaign.service.js';
import { writeReport } from '../../src/core/reports/write-report.js';
import { PassThrough } from 'node:stream';
import { buildServer } from '../../src/server/build-server.js';
import { drcContact, startedCampaign } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const KEY = 'whk-test-key';
const TOKEN = 'dash-test-token-0123456789';
const MONDAY_NOON = '2026-03-02T12:00:00Z';
const FAST = {
  daily_limit: 1000, hourly_limit: 1000, delay_min_seconds: 0, delay_max_seconds: 0, pause_after_sends: 1000, pause_min_minutes: 0,
  pause_max_minutes: 0, sending_window_start: '00:00', sending_window_end: '23:59', sending_days: [1, 2, 3, 4, 5, 6, 7], timezone: 'UTC', poll_interval_seconds: 1,
};

const clock = new FakeClock(MONDAY_NOON);
let t: TestDatabase;
let ctx: Context;
let config: Config;
let app: FastifyInstance;
let seq = 0;
let session = 'default';

beforeAll(async () => {
  t = await createTestDatabase({ clock });
  const base = t.ctx().config;
  config = { ...base, dashboardApiToken: TOKEN, webhookHmacKey: KEY };
  ctx = t.ctx({ config });
  await updateSettings(ctx, FAST);
  app = await buildServer({ ctx, config });
});
afterAll(async () => {
  await app?.close();
  await t?.drop();
});
beforeEach(() => {
  clock.set(MONDAY_NOON);
  session = `s${++seq}`;
});

const evtId = () => `evt_${randomBytes(13).toString('hex')}`;
const rawId = () => `3EB0${randomBytes(10).toString('hex').toUpperCase()}`;

function envelope(event: string, payload: Record<string, unknown>, id = evtId()): string {
  return JSON.stringify({ id, timestamp: Date.now(), event, session, me: { id: '243800000000@c.us', pushName: 'Shop' }, payload, engine: 'WEBJS', environment: { version: '2026.7.1' } });
}

async function post(body: string, sign: 'good' | 'bad' | 'none' = 'good', url = '/api/webhooks/waha') {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (sign === 'good') headers['x-webhook-hmac'] = signWahaBody(body, KEY);
  if (sign === 'bad') headers['x-webhook-hmac'] = signWahaBody(body, 'not-the-key');
  return app.inject({ method: 'POST', url, headers, payload: body });
}

const ack = (raw: string, chat: string, level: number) =>
  envelope('message.ack', { id: `true_${chat}_${raw}`, from: chat, to: null, participant: null, fromMe: true, ack: level, ackName: ['PENDING', 'SERVER', 'DEVICE', 'READ', 'PLAYED'][level] });
const inbound = (chat: string, text: string) =>
  envelope('message', { id: `false_${chat}_${rawId()}`, timestamp: Math.floor(clock.now().getTime() / 1000), from: chat, fromMe: false, to: '243800000000@c.us', body: text, ack: 1 });

async function countEvents(eventId?: string): Promise<number> {
  const q = eventId ? sql<{ n: number }>`select count(*)::int as n from message_events where event_id = ${eventId}` : sql<{ n: number }>`select count(*)::int as n from message_events`;
  return (await q.execute(t.db)).rows[0]!.n;
}

/** A RUNNING campaign of `n` contacts on this test's session; rows PENDING. */
async function runningCampaign(n: number) {
  const brand = `brand${seq}`;
  const chats: string[] = [];
  const contactIds: number[] = [];
  for (let i = 0; i < n; i++) {
    const contact = drcContact(10_000_000 + seq * 100 + i, { name: `P${i}`, first_name: `P${i}`, brand });
    const row = await t.db.insertInto('contacts').values(contact).returning('id').executeTakeFirstOrThrow();
    chats.push(contact.chat_id);
    contactIds.push(row.id);
  }
  const { id } = await startedCampaign(ctx, { name: `c${seq}`, brand, session });
  return { id, chats, contactIds };
}

/** Marks the campaign's rows accepted by WAHA with fresh raw ids (as the worker would). */
async function sentRows(campaignId: number) {
  const rows = await t.db.selectFrom('send_queue').select(['id', 'chat_id']).where('campaign_id', '=', campaignId).orderBy('id').execute();
  const out: Array<{ id: number; chat: string; raw: string }> = [];
  for (const r of rows) {
    const raw = rawId();
    await t.db.updateTable('send_queue').set({ status: 'SENT_API_ACCEPTED', sent_at: clock.now(), waha_raw_id: raw, waha_message_id: `true_${r.chat_id}_${raw}` }).where('id', '=', r.id).execute();
    out.push({ id: r.id, chat: r.chat_id, raw });
  }
  return out;
}

const queueRow = (id: number) => t.db.selectFrom('send_queue').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('webhook authentication (HMAC)', () => {
  it('a good signature is accepted and stored; a bad or missing one gets 401 and nothing is stored', async () => {
    const good = envelope('engine.event', { x: 1 });
    const r = await post(good);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, duplicate: false });
    expect(await countEvents(JSON.parse(good).id)).toBe(1);

    const before = await countEvents();
    for (const sign of ['bad', 'none'] as const) {
      const body = envelope('message.ack', { id: 'true_1@c.us_X', fromMe: true, ack: 3 });
      const res = await post(body, sign);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHORIZED');
    }
    // A signature over other bytes (re-serialised JSON) does not verify either.
    const body = envelope('message', { id: 'false_1@c.us_Y', fromMe: false, body: 'x' });
    const res = await app.inject({ method: 'POST', url: '/api/webhooks/waha', headers: { 'content-type': 'application/json', 'x-webhook-hmac': signWahaBody(JSON.stringify(JSON.parse(body), null, 1), KEY) }, payload: body });
    expect(res.statusCode).toBe(401);
    expect(await countEvents()).toBe(before);
  });

  it('the docs example signature checks out (contract §7.2)', () => {
    expect(signWahaBody('{"event":"message","session":"default","engine":"WEBJS"}', 'my-secret-key')).toMatch(/^208f8a55/);
  });

  it('without an HMAC key the URL token authenticates; --allow-unsigned-webhooks accepts anything', async () => {
    const noKey = { ...config, webhookHmacKey: undefined };
    const tokenApp = await buildServer({ ctx: t.ctx({ config: noKey }), config: noKey });
    const unsignedApp = await buildServer({ ctx: t.ctx({ config: noKey }), config: noKey, allowUnsignedWebhooks: true });
    try {
      const body = () => envelope('engine.event', {});
      const headers = { 'content-type': 'application/json' };
      expect((await tokenApp.inject({ method: 'POST', url: '/api/webhooks/waha', headers, payload: body() })).statusCode).toBe(401);
      expect((await tokenApp.inject({ method: 'POST', url: '/api/webhooks/waha?token=wrong', headers, payload: body() })).statusCode).toBe(401);
      // The dashboard token itself is not the webhook token (it would sit in WAHA's config).
      expect((await tokenApp.inject({ method: 'POST', url: `/api/webhooks/waha?token=${TOKEN}`, headers, payload: body() })).statusCode).toBe(401);
      expect((await tokenApp.inject({ method: 'POST', url: `/api/webhooks/waha?token=${webhookUrlToken(TOKEN)}`, headers, payload: body() })).statusCode).toBe(200);
      expect((await unsignedApp.inject({ method: 'POST', url: '/api/webhooks/waha', headers, payload: body() })).statusCode).toBe(200);
    } finally {
      await tokenApp.close();
      await unsignedApp.close();
    }
  });
});

describe('webhook bodies', () => {
  it('promise 6: a signed body that is not a readable envelope (malformed JSON, not an object, no event) → 2xx, stored raw once with why', async () => {
    const before = await countEvents();
    for (const body of ['{"id":"evt_1","event":', '[1,2]', '{"id":"evt_2"}']) {
      const r = await post(body);
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ ok: true, event: 'unreadable', duplicate: false });
      expect((await post(body)).json()).toMatchObject({ duplicate: true });
    }
    expect(await countEvents()).toBe(before + 3);
    const rows = await t.db.selectFrom('message_events').select(['raw', 'process_error']).where('event', '=', 'unreadable').execute();
    expect(rows.map((r) => r.raw).sort()).toEqual(['[1,2]', '{"id":"evt_1","event":', '{"id":"evt_2"}']);
    expect(rows.every((r) => r.process_error && r.process_error.length > 0)).toBe(true);
  });

  it('a body over 1 MB → 413 and the server keeps answering', async () => {
    const big = envelope('message', { body: 'x'.repeat(1024 * 1024 + 10) });
    const r = await post(big);
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
  });

  it('promise 6: an unknown event is stored and answered 200', async () => {
    const body = envelope('call.received', { id: 'call1', from: '2431@c.us' });
    const r = await post(body);
    expect(r.statusCode).toBe(200);
    const row = await t.db.selectFrom('message_events').selectAll().where('event_id', '=', JSON.parse(body).id).executeTakeFirstOrThrow();
    expect(row.event).toBe('call.received');
    expect(row.raw).toBe(body);
    expect(row.processed_at).not.toBeNull();
  });

  it('promise 6: the same event twice → one row and one effect (duplicate answered 200)', async () => {
    const c = await runningCampaign(1);
    const [row] = await sentRows(c.id);
    const body = ack(row!.raw, row!.chat, 2);
    const first = await post(body);
    const second = await post(body);
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(second.json().duplicate).toBe(true);
    expect(await countEvents(JSON.parse(body).id)).toBe(1);
    // Concurrent duplicates too (WAHA retries can overlap a slow answer).
    const body2 = ack(row!.raw, row!.chat, 3);
    const all = await Promise.all([post(body2), post(body2), post(body2)]);
    expect(all.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(all.filter((r) => !r.json().duplicate)).toHaveLength(1);
    expect(await countEvents(JSON.parse(body2).id)).toBe(1);
    expect((await queueRow(row!.id)).status).toBe('READ');
  });
});

describe('message.ack', () => {
  it('moves rows forward on the raw id whatever the chat form, and never back: READ then DELIVERED stays READ', async () => {
    const c = await runningCampaign(2);
    const [a, b] = await sentRows(c.id);
    // The chat part differs by engine (§7.8): matched on the raw id alone.
    await post(ack(a!.raw, a!.chat.replace('@c.us', '@s.whatsapp.net'), 2));
    expect((await queueRow(a!.id)).status).toBe('DELIVERED');
    await post(ack(a!.raw, '99999@lid', 3));
    const read = await queueRow(a!.id);
    expect(read.status).toBe('READ');
    expect(read.read_at).not.toBeNull();
    await post(ack(a!.raw, a!.chat, 2));
    await post(ack(a!.raw, a!.chat, 1));
    expect((await queueRow(a!.id)).status).toBe('READ');
    // Out of order from the start: READ first, the late DELIVERED changes nothing.
    await post(ack(b!.raw, b!.chat, 3));
    await post(ack(b!.raw, b!.chat, 2));
    const rb = await queueRow(b!.id);
    expect(rb.status).toBe('READ');
    expect(rb.delivered_at).not.toBeNull();
    const ev = await t.db.selectFrom('message_events').selectAll().where('waha_raw_id', '=', b!.raw).execute();
    expect(ev.every((e) => e.matched && e.queue_id === b!.id)).toBe(true);
  });

  it('an ack that arrives before the send result is kept and applied when the result lands', async () => {
    const c = await runningCampaign(1);
    const claim = await claimNext(ctx, session, { worker: 'w', settings: await getSettings(ctx.db), rng: () => 0.5 });
    expect(claim.kind).toBe('claimed');
    if (claim.kind !== 'claimed') return;
    const raw = rawId();
    const r = await post(ack(raw, c.chats[0]!, 3));
    expect(r.json().effect).toBe('ack');
    const stored = await t.db.selectFrom('message_events').selectAll().where('waha_raw_id', '=', raw).executeTakeFirstOrThrow();
    expect(stored.matched).toBe(false);
    expect((await queueRow(claim.recipient.id)).status).toBe('SENDING');
    await recordOutcome(ctx, claim.recipient, { kind: 'accepted', messageId: `true_${c.chats[0]}_${raw}`, rawId: raw }, { worker: 'w', settings: await getSettings(ctx.db), usedFallback: false });
    expect((await queueRow(claim.recipient.id)).status).toBe('READ');
    expect((await t.db.selectFrom('message_events').selectAll().where('id', '=', stored.id).executeTakeFirstOrThrow()).matched).toBe(true);
  });

  it('an ack racing the send result in the same instant is not lost (both orders)', async () => {
    for (let i = 0; i < 6; i++) {
      session = `s${++seq}`;
      const c = await runningCampaign(1);
      const claim = await claimNext(ctx, session, { worker: 'w', settings: await getSettings(ctx.db), rng: () => 0.5 });
      if (claim.kind !== 'claimed') throw new Error('no claim');
      const raw = rawId();
      await Promise.all([
        post(ack(raw, c.chats[0]!, 2)),
        recordOutcome(ctx, claim.recipient, { kind: 'accepted', messageId: raw, rawId: raw }, { worker: 'w', settings: await getSettings(ctx.db), usedFallback: false }),
      ]);
      expect((await queueRow(claim.recipient.id)).status).toBe('DELIVERED');
    }
  });

  it('test-run recipients move forward too', async () => {
    const c = await runningCampaign(1);
    const run = await t.db
      .insertInto('campaign_test_runs')
      .values({ campaign_id: c.id, test_list_name: 'qa', waha_session: session, status: 'RUNNING', template_json: JSON.stringify({}), content_hash: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const raw = rawId();
    const rec = await t.db
      .insertInto('campaign_test_run_recipients')
      .values({ test_run_id: run.id, name: 'Asha', chat_id: '919876543210@c.us', status: 'SENT_API_ACCEPTED', message_type: 'text', endpoint: '/api/sendText', rendered_payload: JSON.stringify({}), waha_raw_id: raw, sent_at: clock.now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    await post(ack(raw, '919876543210@c.us', 3));
    const row = await t.db.selectFrom('campaign_test_run_recipients').selectAll().where('id', '=', rec.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('READ');
  });
});

/** An envelope as `engine` sends it (contract §7.4): the engine is named in the envelope. */
function engineEnvelope(engine: Engine, event: string, payload: Record<string, unknown>): string {
  return JSON.stringify({ id: evtId(), timestamp: Date.now(), event, session, me: { id: '243800000000@c.us', pushName: 'Shop' }, payload, engine, environment: { version: '2026.7.1', engine } });
}

/** The sandbox's record of a message we sent, for its engine-shaped ack payloads. */
const sentMessage = (row: { chat: string; raw: string }): SandboxMessage => ({
  messageId: `true_${row.chat}_${row.raw}`, rawId: row.raw, session, chatId: row.chat, fromMe: true, endpoint: '/api/sendText',
  body: { text: 'Hi' }, text: 'Hi', hasMedia: false, ack: 1, timestamp: Math.floor(clock.now().getTime() / 1000), at: clock.now().toISOString(),
});

describe('message.ack ERROR (-1): a delivery failure, counted as failed everywhere (issue 9, finding 13)', () => {
  for (const engine of ENGINES) {
    it(`${engine}: an ERROR ack makes the accepted row FAILED with WAHA's reason; reports, campaign show and the running overview count it failed`, async () => {
      const c = await runningCampaign(2);
      const [a, b] = await sentRows(c.id);
      const r = await post(engineEnvelope(engine, 'message.ack', ackPayload(engine, '243800000000@c.us', sentMessage(a!), -1)));
      expect(r.statusCode).toBe(200);
      const row = await queueRow(a!.id);
      expect(row.status).toBe('FAILED');
      expect(row.failed_at).toEqual(clock.now());
      expect(row.sent_at).not.toBeNull(); // accepted by WAHA first: the report shows both
      expect(row.last_error).toContain('WhatsApp reported a delivery error');
      expect(row.last_error).toContain(engine);
      if (engine === 'WEBJS') expect(row.last_error).toContain('isSendFailure');
      if (engine === 'GOWS') expect(row.last_error).toContain('server-error');

      // Forward only: a late ERROR after DELIVERED changes nothing (the device had the message).
      await post(engineEnvelope(engine, 'message.ack', ackPayload(engine, '243800000000@c.us', sentMessage(b!), 2)));
      await post(engineEnvelope(engine, 'message.ack', ackPayload(engine, '243800000000@c.us', sentMessage(b!), -1)));
      expect(await queueRow(b!.id)).toMatchObject({ status: 'DELIVERED', failed_at: null, last_error: null });

      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (d: Buffer) => chunks.push(d));
      const report = await writeReport(ctx, { campaignId: c.id }, { format: 'json', out });
      expect(report.summary).toMatchObject({ failed: 1, delivered: 1, sent: 1 });
      const json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const failedRow = (json.recipients as Array<Record<string, unknown>>).find((x) => x.id === a!.id)!;
      expect(failedRow).toMatchObject({ status: 'FAILED' });
      expect(JSON.stringify(failedRow)).toContain('WhatsApp reported a delivery error');
      expect((await showCampaign(ctx, String(c.id))).queue).toMatchObject({ FAILED: 1, DELIVERED: 1 });
      const item = (await runningOverview(ctx)).items.find((i) => i.kind === 'campaign' && i.id === c.id)!;
      expect(item.counts).toMatchObject({ FAILED: 1, DELIVERED: 1, SENT_API_ACCEPTED: 0 });
    });
  }

  it('an ERROR that arrives before the send result is applied when the result lands (and a later READ still wins)', async () => {
    const c = await runningCampaign(1);
    const claim = await claimNext(ctx, session, { worker: 'w', settings: await getSettings(ctx.db), rng: () => 0.5 });
    expect(claim.kind).toBe('claimed');
    if (claim.kind !== 'claimed') return;
    const raw = rawId();
    const m = sentMessage({ chat: c.chats[0]!, raw });
    // Stored with a lower ack too: the ERROR must not be lost behind the higher SERVER number.
    await post(engineEnvelope('GOWS', 'message.ack', ackPayload('GOWS', '243800000000@c.us', m, -1)));
    await post(engineEnvelope('GOWS', 'message.any', { id: m.messageId, from: m.chatId, fromMe: true, body: 'Hi', ack: 1 }));
    await recordOutcome(ctx, claim.recipient, { kind: 'accepted', messageId: m.messageId, rawId: raw }, { worker: 'w', settings: await getSettings(ctx.db), usedFallback: false });
    const row = await queueRow(claim.recipient.id);
    expect(row.status).toBe('FAILED');
    expect(row.last_error).toContain('server-error');
    await post(engineEnvelope('GOWS', 'message.ack', ackPayload('GOWS', '243800000000@c.us', m, 3)));
    expect(await queueRow(claim.recipient.id)).toMatchObject({ status: 'READ', failed_at: null });
  });

  it('test-run recipients: an ERROR ack makes them FAILED too', async () => {
    const c = await runningCampaign(1);
    const run = await t.db
      .insertInto('campaign_test_runs')
      .values({ campaign_id: c.id, test_list_name: 'qa', waha_session: session, status: 'RUNNING', template_json: JSON.stringify({}), content_hash: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const raw = rawId();
    const rec = await t.db
      .insertInto('campaign_test_run_recipients')
      .values({ test_run_id: run.id, name: 'Asha', chat_id: '919876543210@c.us', status: 'SENT_API_ACCEPTED', message_type: 'text', endpoint: '/api/sendText', rendered_payload: JSON.stringify({}), waha_raw_id: raw, sent_at: clock.now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    await post(engineEnvelope('NOWEB', 'message.ack', ackPayload('NOWEB', '243800000000@c.us', sentMessage({ chat: '919876543210@c.us', raw }), -1)));
    const row = await t.db.selectFrom('campaign_test_run_recipients').selectAll().where('id', '=', rec.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('FAILED');
    expect(row.last_error).toContain('NOWEB');
  });
});

describe('message.any (fromMe)', () => {
  it('promise 2: reconciles an UNKNOWN row of that chat at once, and a known send is confirmed', async () => {
    const c = await runningCampaign(2);
    const rows = await t.db.selectFrom('send_queue').select(['id', 'chat_id']).where('campaign_id', '=', c.id).orderBy('id').execute();
    await t.db.updateTable('send_queue').set({ status: 'UNKNOWN', claimed_at: clock.now(), attempts: 1, last_error: 'timeout' }).where('id', '=', rows[0]!.id).execute();
    const raw = rawId();
    const chat = rows[0]!.chat_id;
    // NOWEB-style: the chat as @s.whatsapp.net in `from`; the id carries @c.us.
    const r = await post(envelope('message.any', { id: `true_${chat}_${raw}`, timestamp: Math.floor(clock.now().getTime() / 1000) + 1, from: chat.replace('@c.us', '@s.whatsapp.net'), fromMe: true, body: 'Hi P0', ack: 1 }));
    expect(r.json().effect).toBe('reconciled');
    const row = await queueRow(rows[0]!.id);
    expect(row.status).toBe('SENT_API_ACCEPTED');
    expect(row.waha_raw_id).toBe(raw);
    const ev = await t.db.selectFrom('worker_events').selectAll().where('queue_id', '=', rows[0]!.id).where('event', '=', 'reconciled').execute();
    expect(ev).toHaveLength(1);
    // The acks that follow move it on.
    await post(ack(raw, chat, 3));
    expect((await queueRow(rows[0]!.id)).status).toBe('READ');
    // A second message.any to the same chat proves nothing more: no other row is touched.
    const again = await post(envelope('message.any', { id: `true_${chat}_${rawId()}`, fromMe: true, body: 'typed on the phone', ack: 1 }));
    expect(again.json().effect).toBe('unmatched_own_message');
    expect((await queueRow(rows[1]!.id)).status).toBe('PENDING');
  });

  it('does not reconcile a row claimed after the message was sent', async () => {
    const c = await runningCampaign(1);
    const [row] = await t.db.selectFrom('send_queue').select(['id', 'chat_id']).where('campaign_id', '=', c.id).execute();
    await t.db.updateTable('send_queue').set({ status: 'UNKNOWN', claimed_at: clock.now() }).where('id', '=', row!.id).execute();
    const oldMessage = Math.floor(clock.now().getTime() / 1000) - 3600;
    const r = await post(envelope('message.any', { id: `true_${row!.chat_id}_${rawId()}`, timestamp: oldMessage, fromMe: true, body: 'old', ack: 3 }));
    expect(r.json().effect).toBe('unmatched_own_message');
    expect((await queueRow(row!.id)).status).toBe('UNKNOWN');
  });
});

describe('inbound messages', () => {
  it('promise 4: STOP opts the contact out at once, skips its pending rows, and the worker never sends to it', async () => {
    const c = await runningCampaign(3);
    const r = await post(inbound(c.chats[0]!, '  stop  '));
    expect(r.statusCode).toBe(200);
    expect(r.json().effect).toBe('inbound');
    const contact = await t.db.selectFrom('contacts').selectAll().where('id', '=', c.contactIds[0]!).executeTakeFirstOrThrow();
    expect(contact.opted_out).toBe(true);
    expect(contact.opted_out_source).toBe('keyword');
    const rows = await t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', c.id).orderBy('id').execute();
    expect(rows.map((x) => x.status)).toEqual(['SKIPPED', 'PENDING', 'PENDING']);
    expect(rows[0]!.skip_reason).toBe('opted_out');
    const audit = await t.db.selectFrom('admin_activity').selectAll().where('action', '=', 'contact.opt_out').where('entity_id', '=', String(c.contactIds[0])).execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toBe('webhook');
    const reply = await t.db.selectFrom('replies').selectAll().where('chat_id', '=', c.chats[0]!).executeTakeFirstOrThrow();
    expect(reply.kind).toBe('opt_out');

    // "ARRÊT" (any case, with accents) and "Stop!" are keywords; a sentence containing stop is not.
    await post(inbound(c.chats[1]!, 'please do not stop'));
    expect((await t.db.selectFrom('contacts').select('opted_out').where('id', '=', c.contactIds[1]!).executeTakeFirstOrThrow()).opted_out).toBe(false);

    // The worker then sends to the two others only.
    const s = await startSandbox({ port: 0, sessions: [session], seed: 7 });
    try {
      const waha = createWahaClient({ baseUrl: s.url, timeoutMs: 2000 });
      await runWorker(ctx, { waha, resolveMedia: async (p) => p, rng: () => 0.5 }, { once: true, name: 'w', version: 't', stop: new AbortController().signal, maintenanceMs: 0 });
      expect(s.messages.map((m) => m.chatId).sort()).toEqual([c.chats[1], c.chats[2]].sort());
    } finally {
      await s.close();
    }
  });

  it('promise 4: STOP while a worker is sending stops every row not yet claimed (race)', async () => {
    const c = await runningCampaign(1);
    // A second campaign to the same contact, also running: both rows must stop.
    const c2 = await startedCampaign(ctx, { name: `c${seq}b`, brand: `brand${seq}`, session, text: 'Again' });
    const settings = await getSettings(ctx.db);
    const [claim] = await Promise.all([claimNext(ctx, session, { worker: 'w', settings, rng: () => 0.5 }), post(inbound(c.chats[0]!, 'ARRÊT'))]);
    const rows = await t.db.selectFrom('send_queue').selectAll().where('contact_id', '=', c.contactIds[0]!).execute();
    // Either the claim won (one row SENDING: already in WAHA's hands) or the opt-out did; never both pending.
    const open = rows.filter((r) => r.status === 'PENDING');
    expect(open).toHaveLength(0);
    // Whichever won, every row the claim did not take is SKIPPED: the claimed one, or none, is SENDING.
    expect(rows.map((r) => r.status).sort()).toEqual(claim.kind === 'claimed' ? ['SENDING', 'SKIPPED'] : ['SKIPPED', 'SKIPPED']);
    const after = await claimNext(ctx, session, { worker: 'w', settings, rng: () => 0.5 });
    expect(after.kind).not.toBe('claimed');
  });

  it('START opts a contact back in; other text is a reply to the campaign that last messaged the chat', async () => {
    const c = await runningCampaign(1);
    await post(inbound(c.chats[0]!, 'UNSUBSCRIBE'));
    expect((await t.db.selectFrom('contacts').select('opted_out').where('id', '=', c.contactIds[0]!).executeTakeFirstOrThrow()).opted_out).toBe(true);
    await post(inbound(c.chats[0]!, 'start'));
    expect((await t.db.selectFrom('contacts').select('opted_out').where('id', '=', c.contactIds[0]!).executeTakeFirstOrThrow()).opted_out).toBe(false);
    expect(await t.db.selectFrom('admin_activity').select('id').where('action', '=', 'contact.opt_in').where('entity_id', '=', String(c.contactIds[0])).execute()).toHaveLength(1);

    // Two campaigns messaged the chat; the later one gets the reply.
    // (runningCampaign(0) reuses this test's brand, so its queue holds the same contact.)
    const c2 = await runningCampaign(0);
    await t.db.updateTable('send_queue').set({ status: 'READ', sent_at: new Date(clock.now().getTime() + 60_000) }).where('campaign_id', '=', c2.id).execute();
    await t.db.updateTable('send_queue').set({ status: 'SENT_API_ACCEPTED', sent_at: clock.now() }).where('campaign_id', '=', c.id).execute();
    await post(inbound(c.chats[0]!, 'Is the promo still on?'));
    const reply = await t.db.selectFrom('replies').selectAll().where('chat_id', '=', c.chats[0]!).where('kind', '=', 'reply').executeTakeFirstOrThrow();
    expect(reply.campaign_id).toBe(c2.id);
    expect(reply.contact_id).toBe(c.contactIds[0]);
    expect(reply.body).toBe('Is the promo still on?');
  });

  it('one inbound message delivered twice under two envelope ids (LID and PN chat) records one reply', async () => {
    const c = await runningCampaign(1);
    const raw = rawId();
    const payload = (chat: string) => ({ id: `false_${chat}_${raw}`, from: chat, fromMe: false, body: 'hello', ack: 1 });
    await post(envelope('message', payload(c.chats[0]!)));
    await post(envelope('message', payload('12345@lid')));
    expect(await t.db.selectFrom('replies').select('id').where('body', '=', 'hello').where('chat_id', 'in', [c.chats[0]!, '12345@lid']).execute()).toHaveLength(1);
  });
});

describe('inbound from message.any, and message + message.any for one inbound (issue 9, finding 14)', () => {
  const inboundPayload = (chat: string, raw: string, text: string) => ({ id: `false_${chat}_${raw}`, timestamp: Math.floor(clock.now().getTime() / 1000), from: chat, fromMe: false, to: '243800000000@c.us', body: text, ack: 1 });

  it('promise 4: a STOP that arrives as message.any only (what `webhook setup` subscribes to) opts the contact out', async () => {
    const c = await runningCampaign(2);
    const r = await post(envelope('message.any', inboundPayload(c.chats[0]!, rawId(), 'STOP')));
    expect(r.json().effect).toBe('inbound');
    expect((await t.db.selectFrom('contacts').select('opted_out').where('id', '=', c.contactIds[0]!).executeTakeFirstOrThrow()).opted_out).toBe(true);
    expect((await t.db.selectFrom('send_queue').select('status').where('contact_id', '=', c.contactIds[0]!).executeTakeFirstOrThrow()).status).toBe('SKIPPED');
    await post(envelope('message.any', inboundPayload(c.chats[1]!, rawId(), 'Is it still on?')));
    expect(await t.db.selectFrom('replies').select('kind').where('chat_id', '=', c.chats[1]!).execute()).toEqual([{ kind: 'reply' }]);
  });

  it('one inbound as `message` and `message.any` (two envelope ids): one reply, one opt-out audit, one notification; both events stored', async () => {
    const c = await runningCampaign(1);
    const chat = c.chats[0]!;
    const reply = rawId();
    await post(envelope('message', inboundPayload(chat, reply, 'hello there')));
    await post(envelope('message.any', inboundPayload(chat, reply, 'hello there')));
    expect(await t.db.selectFrom('replies').select('id').where('chat_id', '=', chat).execute()).toHaveLength(1);
    expect(await t.db.selectFrom('message_events').select('id').where('waha_raw_id', '=', reply).execute()).toHaveLength(2); // promise 6

    // Both copies at once, either order of commit: still one effect.
    const stop = rawId();
    const [a, b] = await Promise.all([post(envelope('message.any', inboundPayload(chat, stop, 'STOP'))), post(envelope('message', inboundPayload(chat, stop, 'STOP')))]);
    expect([a.json().effect, b.json().effect].sort()).toEqual(['duplicate_message', 'inbound']);
    expect(await t.db.selectFrom('replies').select('id').where('chat_id', '=', chat).where('kind', '=', 'opt_out').execute()).toHaveLength(1);
    expect(await t.db.selectFrom('admin_activity').select('id').where('action', '=', 'contact.opt_out').where('entity_id', '=', String(c.contactIds[0])).execute()).toHaveLength(1);
    expect(await t.db.selectFrom('notifications').select('id').where('kind', '=', 'opt_out').where('title', 'like', `${chat}%`).execute()).toHaveLength(1);
  });

  it('our own message.any is still no reply', async () => {
    const c = await runningCampaign(1);
    await post(envelope('message.any', { id: `true_${c.chats[0]}_${rawId()}`, from: '243800000000@c.us', to: c.chats[0], fromMe: true, body: 'typed on the phone', ack: 1 }));
    expect(await t.db.selectFrom('replies').select('id').where('chat_id', '=', c.chats[0]!).execute()).toHaveLength(0);
  });
});

describe('session.status', () => {
  it('a session that is not WORKING holds the worker; WORKING again releases it', async () => {
    await runningCampaign(1);
    const settings = await getSettings(ctx.db);
    await post(envelope('session.status', { name: session, status: 'SCAN_QR_CODE', statuses: [], data: null }));
    const pacing = await t.db.selectFrom('session_pacing').selectAll().where('session', '=', session).executeTakeFirstOrThrow();
    expect(pacing.waha_status).toBe('SCAN_QR_CODE');
    expect(pacing.not_working_reason).toMatch(/SCAN_QR_CODE/);
    const held = await claimNext(ctx, session, { worker: 'w', settings, rng: () => 0.5 });
    expect(held).toMatchObject({ kind: 'blocked', reason: 'session_not_working' });
    const note = await t.db.selectFrom('notifications').selectAll().where('kind', '=', 'session_not_working').where('title', 'like', `%${session} %`).execute();
    expect(note).toHaveLength(1);

    await post(envelope('session.status', { name: session, status: 'WORKING', statuses: [], data: null }));
    const back = await t.db.selectFrom('session_pacing').selectAll().where('session', '=', session).executeTakeFirstOrThrow();
    expect(back.waha_status).toBe('WORKING');
    expect(back.not_working_reason).toBeNull();
    expect((await claimNext(ctx, session, { worker: 'w', settings, rng: () => 0.5 })).kind).toBe('claimed');
  });
});

describe('ingestWahaEvent (core, no HTTP)', () => {
  it('a failure while acting stores the event with its error instead of losing it', async () => {
    // A session.status whose name is too long for nothing but this test's purpose: force a failure
    // by passing keyword settings that throw when read.
    const bad = { get opt_out_keywords(): string[] { throw new Error('boom'); }, opt_in_keywords: [] };
    const body = inbound('243899999999@c.us', 'STOP');
    const r = await ingestWahaEvent(ctx, body, { settings: bad as never });
    expect(r.stored).toBe(true);
    expect(r.error).toMatch(/boom/);
    const row = await t.db.selectFrom('message_events').selectAll().where('event_id', '=', r.eventId).executeTakeFirstOrThrow();
    expect(row.process_error).toMatch(/boom/);
    expect(row.processed_at).toBeNull();
    // A retry of it is a duplicate, not a second row.
    expect((await ingestWahaEvent(ctx, body)).duplicate).toBe(true);
  });
});
