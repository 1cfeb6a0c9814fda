// The worker against every sandbox fault, in process, on real Postgres: each test names the
// promise it tries to break (DESIGN.md) and fails if the worker stops keeping it. Time comes from
// a FakeClock (runWorker sleeps via ctx.clock.sleep), so backoffs, windows and limits are exact.
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cancelCampaign, pauseCampaign, resumeCampaign, startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { FakeClock, systemClock } from '../../src/core/clock.js';
import type { Context } from '../../src/core/context.js';
import type { WorkerEventName } from '../../src/core/db/schema.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { addTestListMembers, createTestList } from '../../src/core/test-lists/test-list.service.js';
import { startTestRun } from '../../src/core/test-runs/index.js';
import { addTestUser } from '../../src/core/test-users/test-user.service.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { createWahaClient, type SendOutcome } from '../../src/core/waha/index.js';
import { resolveUnknown } from '../../src/core/worker/resolve-unknown.js';
import { runWorker, type WorkerOptions, type WorkerPorts } from '../../src/core/worker/run-worker.js';
import { ARRIVAL_MARGIN_MS } from '../../src/core/worker/send-slot.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/index.js';
import { drcContact, openZone } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const MONDAY_NOON = '2026-03-02T12:00:00Z';

/** Settings under which nothing but the fault under test holds a send back. */
const FAST = {
  daily_limit: 1000,
  hourly_limit: 1000,
  delay_min_seconds: 0,
  delay_max_seconds: 0,
  pause_after_sends: 1000,
  pause_min_minutes: 0,
  pause_max_minutes: 0,
  sending_window_start: '00:00',
  sending_window_end: '23:59',
  sending_days: [1, 2, 3, 4, 5, 6, 7],
  timezone: 'UTC',
  poll_interval_seconds: 1,
  max_attempts: 3,
  failure_pause_threshold: 0.5,
  failure_window_sends: 10,
};

// One database per file; each test has its own WAHA session (so its own pacing state and
// session_sends), reads only the worker events written since it began, and cancels what it
// leaves running so the next test's worker never sees it.
const clock = new FakeClock(MONDAY_NOON);
let t: TestDatabase;
let ctx: Context;
const cleanups: Array<() => Promise<unknown>> = [];
let chatSeq = 0;
let testNo = 0;
let session = 'default';
let firstEvent = 0;

beforeAll(async () => {
  t = await createTestDatabase({ clock });
  ctx = t.ctx();
});
afterAll(async () => t?.drop());
beforeEach(async () => {
  clock.set(MONDAY_NOON);
  session = `s${++testNo}`;
  const last = await t.db.selectFrom('worker_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  firstEvent = Number(last?.id ?? 0);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  await sql`update campaigns set status = 'CANCELLED' where status in ('RUNNING', 'PAUSED')`.execute(t.db);
  await sql`update campaign_test_runs set status = 'CANCELLED' where status in ('RUNNING', 'PAUSED')`.execute(t.db);
  // Leftover UNKNOWN rows would make every later worker ask its sandbox about them.
  await sql`update send_queue set status = 'SKIPPED', skip_reason = 'test cleanup' where status = 'UNKNOWN'`.execute(t.db);
});

async function sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const s = await startSandbox({ port: 0, seed: 1000 + testNo, sessions: [session], ...options });
  cleanups.push(() => s.close());
  return s;
}

/** A campaign of `n` contacts, approved, queued and RUNNING. Returns its id and the contacts' chat ids in queue order. */
async function runningCampaign(n: number, template: unknown = { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' }) {
  const chats: string[] = [];
  const contactIds: number[] = [];
  const brand = `brand${testNo}_${chatSeq}`;
  for (let i = 0; i < n; i++) {
    const contact = drcContact(20_000_000 + chatSeq++, { name: `Person ${i}`, first_name: `Person${i}`, city: 'Kinshasa', source: 'store', store_id: 'GOM-12', brand });
    const row = await t.db.insertInto('contacts').values(contact).returning('id').executeTakeFirstOrThrow();
    const chat = contact.chat_id;
    chats.push(chat);
    contactIds.push(row.id);
  }
  const { campaign } = await createCampaign(ctx, { name: `c${chatSeq}`, brand, session, template });
  await approveCampaign(ctx, String(campaign.id));
  const built = await buildQueue(ctx, String(campaign.id));
  expect(built.queued).toBe(n);
  await startCampaign(ctx, String(campaign.id));
  return { id: campaign.id, chats, contactIds, brand };
}

function work(waha: WorkerPorts['waha'], options: Partial<WorkerOptions> = {}) {
  return runWorker(ctx, { waha, resolveMedia: async (p) => p, rng: () => 0.5 }, {
    once: true, name: 'w-test', version: 'test', stop: new AbortController().signal, maintenanceMs: 0, ...options,
  });
}

const client = (s: Sandbox, timeoutMs = 2000) => createWahaClient({ baseUrl: s.url, timeoutMs });

async function rows(campaignId: number) {
  return t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', campaignId).orderBy('id').execute();
}

async function events(event: WorkerEventName) {
  return t.db.selectFrom('worker_events').selectAll().where('event', '=', event).where('id', '>', firstEvent).orderBy('id').execute();
}

async function campaignStatus(id: number) {
  return (await t.db.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
}

const sendRequests = (s: Sandbox) => s.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/send'));

function expectNoChatTwice(s: Sandbox): void {
  const chats = s.messages.filter((m) => m.fromMe).map((m) => m.chatId);
  expect(chats.length, 'a chat got two messages').toBe(new Set(chats).size);
}

describe('worker against sandbox faults', () => {
  it('promise 2: a 5xx is retried with backoff up to max_attempts, then FAILED (nothing sent, every retry recorded)', async () => {
    await updateSettings(ctx, { ...FAST, max_attempts: 3 });
    const s = await sandbox({ faults: { errorRate5xx: 1 } });
    const c = await runningCampaign(2);
    const first = await work(client(s));
    expect(first).toMatchObject({ sent: 0, failed: 0, retried: 2 });
    let r = await rows(c.id);
    expect(r.map((x) => [x.status, x.attempts])).toEqual([['PENDING', 1], ['PENDING', 1]]);
    expect(r[0]!.next_attempt_at!.getTime()).toBe(clock.now().getTime() + 30_000);
    // Not yet due: the backoff holds.
    expect(await work(client(s))).toMatchObject({ sent: 0, retried: 0, failed: 0 });
    clock.advance(30_000);
    expect(await work(client(s))).toMatchObject({ retried: 2 });
    r = await rows(c.id);
    expect(r[0]!.next_attempt_at!.getTime()).toBe(clock.now().getTime() + 60_000);
    clock.advance(60_000);
    expect(await work(client(s))).toMatchObject({ failed: 2, retried: 0 });
    r = await rows(c.id);
    expect(r.map((x) => [x.status, x.attempts])).toEqual([['FAILED', 3], ['FAILED', 3]]);
    expect(r[0]!.last_error).toMatch(/500/);
    const retries = await events('retry');
    expect(retries).toHaveLength(4);
    expect(retries[0]!.reason).toMatch(/attempt 1 of 3/);
    expect(retries.every((e) => e.next_attempt_at !== null)).toBe(true);
    expect(await events('failed')).toHaveLength(2);
    expect(s.messages).toHaveLength(0);
    expect(sendRequests(s)).toHaveLength(6);
    expect((await campaignStatus(c.id)).status).toBe('COMPLETED');
  });

  it('promise 2: a 5xx then a success sends exactly once', async () => {
    await updateSettings(ctx, { ...FAST, max_attempts: 3 });
    const s = await sandbox({ faults: { errorRate5xx: 1 } });
    const c = await runningCampaign(3);
    await work(client(s));
    s.setFaults({ errorRate5xx: 0 });
    clock.advance(30_000);
    expect(await work(client(s))).toMatchObject({ sent: 3 });
    const r = await rows(c.id);
    expect(r.map((x) => [x.status, x.attempts])).toEqual(Array(3).fill(['SENT_API_ACCEPTED', 2]));
    expect(s.messages).toHaveLength(3);
    expectNoChatTwice(s);
  });

  it('promise 2: a timeout becomes UNKNOWN, is never retried, and is reconciled from WAHA\'s chat history', async () => {
    clock.set(Date.now());
    await updateSettings(ctx, { ...FAST, timezone: openZone(clock.now()) });
    const s = await sandbox({ faults: { timeoutRate: 1, timeoutHoldMs: 10_000 } });
    const c = await runningCampaign(3);
    // The first pass sees no UNKNOWN yet; maintenance runs before each claim, so reconcile in a second run.
    const first = await work(client(s, 300), { maintenanceMs: 60_000 });
    expect(first).toMatchObject({ sent: 0, unknown: 3, reconciled: 0 });
    expect((await rows(c.id)).map((x) => x.status)).toEqual(['UNKNOWN', 'UNKNOWN', 'UNKNOWN']);
    expect(await events('unknown_outcome')).toHaveLength(3);
    // UNKNOWN rows hold the campaign open for nobody: it completes and says how many are unknown.
    const done = await campaignStatus(c.id);
    expect(done.status).toBe('COMPLETED');
    expect((await events('completed'))[0]!.reason).toMatch(/3 send\(s\) have an unknown outcome/);

    s.setFaults({ timeoutRate: 0 });
    const second = await work(client(s, 2000));
    expect(second).toMatchObject({ reconciled: 3, sent: 0 });
    const r = await rows(c.id);
    expect(r.map((x) => x.status)).toEqual(['SENT_API_ACCEPTED', 'SENT_API_ACCEPTED', 'SENT_API_ACCEPTED']);
    for (const row of r) {
      const m = s.messages.find((x) => x.chatId === row.chat_id)!;
      expect(row.waha_message_id).toBe(m.messageId);
      expect(row.waha_raw_id).toBe(m.rawId);
    }
    const rec = await events('reconciled');
    expect(rec).toHaveLength(3);
    expect(rec[0]!.reason).toMatch(/chat history/);
    // Never re-sent: three POSTs, three messages, one per chat.
    expect(sendRequests(s)).toHaveLength(3);
    expect(s.messages).toHaveLength(3);
    expectNoChatTwice(s);
  });

  it('promise 2: an UNKNOWN row is reconciled from a stored message.any webhook when WAHA\'s history is not asked', async () => {
    clock.set(Date.now());
    await updateSettings(ctx, { ...FAST, timezone: openZone(clock.now()) });
    const s = await sandbox({ faults: { timeoutRate: 1, timeoutHoldMs: 10_000 } });
    const c = await runningCampaign(2);
    const waha = client(s, 300);
    const sendOnly = { send: waha.send.bind(waha) };
    await work(sendOnly);
    // What the webhook receiver stores for message.any (fromMe) — the chat part differs by engine.
    for (const m of s.messages) {
      await t.db.insertInto('message_events').values({
        event_id: `evt_${m.rawId}`, event: 'message.any', session, received_at: clock.now(), raw: '{}',
        waha_raw_id: m.rawId, chat_id: m.chatId, from_me: true, ack: 1,
      }).execute();
    }
    expect(await work(sendOnly)).toMatchObject({ reconciled: 2 });
    const r = await rows(c.id);
    expect(r.map((x) => x.status)).toEqual(['SENT_API_ACCEPTED', 'SENT_API_ACCEPTED']);
    expect(r.map((x) => x.waha_raw_id).sort()).toEqual(s.messages.map((m) => m.rawId).sort());
    expect((await events('reconciled'))[0]!.reason).toMatch(/message\.any/);
    expect(sendRequests(s)).toHaveLength(2);
  });

  it('promise 2: an UNKNOWN send WAHA never received stays UNKNOWN until `resolve --resend`, then goes exactly once', async () => {
    await updateSettings(ctx, FAST);
    const s = await sandbox();
    const c = await runningCampaign(2);
    const waha = client(s);
    // The request "left" but never reached WAHA: the client cannot tell, so the outcome is unknown.
    const lossy = { send: async (): Promise<SendOutcome> => ({ kind: 'unknown', error: 'connection reset after the request left' }), chatMessages: waha.chatMessages.bind(waha) };
    expect(await work(lossy)).toMatchObject({ unknown: 2 });
    expect(await work(lossy)).toMatchObject({ reconciled: 0, unknown: 0, sent: 0 });
    expect((await rows(c.id)).map((x) => x.status)).toEqual(['UNKNOWN', 'UNKNOWN']);
    expect(s.messages).toHaveLength(0);
    // Not even a working WAHA makes the worker re-send it silently.
    expect(await work(waha)).toMatchObject({ sent: 0, reconciled: 0 });
    expect(s.messages).toHaveLength(0);

    const resolved = await resolveUnknown(ctx, String(c.id), 'resend');
    expect(resolved.queueRows).toBe(2);
    expect((await campaignStatus(c.id)).status).toBe('RUNNING');
    expect(await work(waha)).toMatchObject({ sent: 2 });
    expect(await work(waha)).toMatchObject({ sent: 0 });
    expect((await rows(c.id)).map((x) => x.status)).toEqual(['SENT_API_ACCEPTED', 'SENT_API_ACCEPTED']);
    expect(s.messages).toHaveLength(2);
    expectNoChatTwice(s);
    expect((await campaignStatus(c.id)).status).toBe('COMPLETED');
  });

  it('promise 2: reconciliation is not starved by UNKNOWN rows that can never be proven', async () => {
    clock.set(Date.now());
    await updateSettings(ctx, { ...FAST, timezone: openZone(clock.now()) });
    const s = await sandbox();
    const c = await runningCampaign(26);
    const waha = client(s);
    const last = c.chats.at(-1)!;
    // 25 requests that never reached WAHA, then one WAHA took whose answer was lost: all UNKNOWN.
    const lossy = {
      async send(endpoint: string, body: Record<string, unknown>): Promise<SendOutcome> {
        if (body.chatId === last) await waha.send(endpoint, body);
        return { kind: 'unknown', error: 'connection reset after the request left' };
      },
      chatMessages: waha.chatMessages.bind(waha),
    };
    expect(await work(lossy, { maintenanceMs: 60_000 })).toMatchObject({ unknown: 26 });
    expect(s.messages).toHaveLength(1);
    // Maintenance passes, a second apart: the provable row must be reached, however many unprovable ones came first.
    let reconciled = 0;
    for (let pass = 0; pass < 3 && reconciled === 0; pass++) {
      clock.advance(1000);
      reconciled += (await work(waha)).reconciled;
    }
    expect(reconciled).toBe(1);
    const r = await rows(c.id);
    expect(r.find((x) => x.chat_id === last)).toMatchObject({ status: 'SENT_API_ACCEPTED', waha_message_id: s.messages[0]!.messageId });
    expect(r.filter((x) => x.status === 'UNKNOWN')).toHaveLength(25);
    expect(s.messages).toHaveLength(1);
  });

  it('promise 2: an UNKNOWN row is reconciled from chat history even when the chat also holds an earlier message of another campaign', async () => {
    clock.set(Date.now());
    await updateSettings(ctx, { ...FAST, timezone: openZone(clock.now()) });
    const s = await sandbox();
    const waha = client(s);
    const a = await runningCampaign(1);
    expect(await work(waha)).toMatchObject({ sent: 1 });
    // The same contact in a second campaign a few seconds later; WAHA takes it but the answer is lost.
    await t.db.updateTable('contacts').set({ registered_brands: [a.brand, `other${testNo}`] }).where('id', '=', a.contactIds[0]!).execute();
    const { campaign } = await createCampaign(ctx, { name: `b${testNo}`, brand: `other${testNo}`, session, template: { mode: 'simple', type: 'text', text: 'Second {{first_name}}' } });
    await approveCampaign(ctx, String(campaign.id));
    expect((await buildQueue(ctx, String(campaign.id))).queued).toBe(1);
    await startCampaign(ctx, String(campaign.id));
    clock.advance(3000);
    const lossy = {
      async send(endpoint: string, body: Record<string, unknown>): Promise<SendOutcome> {
        await waha.send(endpoint, body);
        return { kind: 'unknown', error: 'connection reset after the request left' };
      },
    };
    expect(await work(lossy)).toMatchObject({ unknown: 1 });
    expect(s.messages).toHaveLength(2);
    expect(await work(waha)).toMatchObject({ reconciled: 1, sent: 0 });
    const [row] = await rows(campaign.id);
    expect(row).toMatchObject({ status: 'SENT_API_ACCEPTED', waha_message_id: s.messages[1]!.messageId });
    expect(s.messages).toHaveLength(2);
  });

  it('promise 1: a 501 for buttons sends the saved fallback under a claim of its own; the worker then sends fallbacks straight away', async () => {
    await updateSettings(ctx, FAST);
    const s = await sandbox({ engine: 'NOWEB', faults: { notImplementedButtons: true } });
    const template = {
      mode: 'advanced', type: 'buttons', experimental: true,
      fallback: { type: 'text', payload: { text: '{{first_name}}, our {{brand}} offer' } },
      payload: { header: '{{brand}}', body: '{{first_name}}, how are you?', footer: 'Reply any time', buttons: [{ type: 'reply', text: 'Good!' }] },
    };
    const c = await runningCampaign(2, template);
    expect(await work(client(s))).toMatchObject({ sent: 2, failed: 0 });
    const r = await rows(c.id);
    expect(r.map((x) => [x.status, x.used_fallback])).toEqual([['SENT_API_ACCEPTED', true], ['SENT_API_ACCEPTED', true]]);
    expect(s.messages.map((m) => m.endpoint)).toEqual(['/api/sendText', '/api/sendText']);
    expect(s.messages[0]!.text).toBe(`Person0, our ${c.brand} offer`);
    // The 501 put the first row back in the queue marked for its fallback; having seen the 501,
    // the worker sends the second row's fallback without asking for buttons again.
    expect(sendRequests(s).map((q) => [q.path, q.status])).toEqual([['/api/sendButtons', 501], ['/api/sendText', 201], ['/api/sendText', 201]]);
    // Every message-creating request counts toward the limits, the 501'd one included.
    expect(await t.db.selectFrom('session_sends').select('id').where('session', '=', session).execute()).toHaveLength(3);
    const fb = await events('fallback');
    expect(fb.map((e) => e.status)).toEqual(['PENDING', 'SENT_API_ACCEPTED', 'SENT_API_ACCEPTED']);
    expect(fb[0]!.reason).toMatch(/501/);
    expect(await events('sent')).toHaveLength(0);
  });

  it('promise 2: a fallback whose outcome is unknown is reconciled as the fallback (used_fallback kept)', async () => {
    clock.set(Date.now());
    await updateSettings(ctx, { ...FAST, timezone: openZone(clock.now()) });
    const s = await sandbox({ engine: 'NOWEB', faults: { notImplementedButtons: true, timeoutRate: 1, timeoutHoldMs: 10_000 } });
    const template = {
      mode: 'advanced', type: 'buttons', experimental: true,
      fallback: { type: 'text', payload: { text: '{{first_name}}, our offer' } },
      payload: { header: 'Hi', body: '{{first_name}}, how are you?', footer: 'Reply any time', buttons: [{ type: 'reply', text: 'Good!' }] },
    };
    const c = await runningCampaign(1, template);
    expect(await work(client(s, 300), { maintenanceMs: 60_000 })).toMatchObject({ unknown: 1 });
    expect((await rows(c.id))[0]).toMatchObject({ status: 'UNKNOWN', used_fallback: true });
    s.setFaults({ timeoutRate: 0 });
    expect(await work(client(s))).toMatchObject({ reconciled: 1 });
    expect((await rows(c.id))[0]).toMatchObject({ status: 'SENT_API_ACCEPTED', used_fallback: true, waha_message_id: s.messages[0]!.messageId });
    expect(s.messages.map((m) => m.endpoint)).toEqual(['/api/sendText']);
  });

  it('promise 2: a live worker in a slow send is not taken for dead by another worker (its row is not made UNKNOWN)', async () => {
    const real = t.ctx({ clock: systemClock });
    await updateSettings(real, { ...FAST, timezone: openZone(new Date()) });
    const s = await sandbox();
    const c = await runningCampaign(1);
    const waha = client(s);
    let inFlight!: () => void;
    const started = new Promise<void>((r) => (inFlight = r));
    // WAHA answers 500 after 1.5 s: nothing was sent, so the row must go back to PENDING for a retry.
    const slow = {
      async send(): Promise<SendOutcome> {
        inFlight();
        await new Promise((r) => setTimeout(r, 1500));
        return { kind: 'retryable', status: 500, error: 'WAHA answered 500' };
      },
    };
    const opts = { version: 'test', stop: new AbortController().signal, once: true, heartbeatMs: 100, maintenanceMs: 0 };
    const a = runWorker(real, { waha: slow, resolveMedia: async (p) => p }, { ...opts, name: 'slow-a' });
    await started;
    // Well past 4 heartbeats into A's send, B looks for abandoned sends.
    await new Promise((r) => setTimeout(r, 900));
    await runWorker(real, { waha, resolveMedia: async (p) => p }, { ...opts, name: 'peer-b' });
    expect(await a).toMatchObject({ retried: 1 });
    expect((await rows(c.id))[0]).toMatchObject({ status: 'PENDING', attempts: 1 });
    expect(await events('unknown_outcome')).toHaveLength(0);
  });

  it('promise 2: when a peer with a shorter heartbeat takes a live worker for dead, the owner\'s definite 5xx still puts the row back to PENDING', async () => {
    const real = t.ctx({ clock: systemClock });
    await updateSettings(real, { ...FAST, timezone: openZone(new Date()) });
    const s = await sandbox();
    const c = await runningCampaign(1);
    let inFlight!: () => void;
    const started = new Promise<void>((r) => (inFlight = r));
    const slow = {
      async send(): Promise<SendOutcome> {
        inFlight();
        await new Promise((r) => setTimeout(r, 1500));
        return { kind: 'retryable', status: 500, error: 'WAHA answered 500' };
      },
    };
    const base = { version: 'test', stop: new AbortController().signal, once: true, maintenanceMs: 0 };
    // The owner beats every 5 s; the peer judges "dead" after 4 × 100 ms.
    const a = runWorker(real, { waha: slow, resolveMedia: async (p) => p }, { ...base, name: 'slow-owner', heartbeatMs: 5000 });
    await started;
    await new Promise((r) => setTimeout(r, 700));
    await runWorker(real, { waha: client(s), resolveMedia: async (p) => p }, { ...base, name: 'eager-peer', heartbeatMs: 100 });
    expect((await rows(c.id))[0]!.status).toBe('UNKNOWN');
    expect(await a).toMatchObject({ retried: 1 });
    expect((await rows(c.id))[0]).toMatchObject({ status: 'PENDING', attempts: 1, last_error: 'WAHA answered 500' });
    expect(s.messages).toHaveLength(0);
  });

  it('session drops to SCAN_QR_CODE: the session pauses with a reason, no row fails, and a --once worker resumes it when WAHA is WORKING again', async () => {
    await updateSettings(ctx, FAST);
    const s = await sandbox({ faults: { dropSessionAfter: 2 } });
    const c = await runningCampaign(5);
    expect(await work(client(s))).toMatchObject({ sent: 2, failed: 0 });
    let r = await rows(c.id);
    expect(r.map((x) => x.status)).toEqual(['SENT_API_ACCEPTED', 'SENT_API_ACCEPTED', 'PENDING', 'PENDING', 'PENDING']);
    expect(r[2]!.attempts).toBe(0);
    expect(r[2]!.last_error).toMatch(/SCAN_QR_CODE/);
    const pacing = await t.db.selectFrom('session_pacing').selectAll().where('session', '=', session).executeTakeFirstOrThrow();
    expect(pacing.not_working_reason).toMatch(/SCAN_QR_CODE/);
    const nw = await events('session_not_working');
    expect(nw.length).toBeGreaterThanOrEqual(1);
    expect(nw[0]!.reason).toMatch(/SCAN_QR_CODE/);
    // The refused attempt did not count toward the limits.
    expect(Number((await sql<{ n: number }>`select count(*) as n from session_sends where session = ${session}`.execute(t.db)).rows[0]!.n)).toBe(2);

    // Still down: nothing is attempted.
    const before = sendRequests(s).length;
    expect(await work(client(s))).toMatchObject({ sent: 0, failed: 0 });
    expect(sendRequests(s).length).toBe(before);

    s.setFaults({ dropSessionAfter: null });
    s.setSessionStatus(session, 'WORKING');
    expect(await work(client(s))).toMatchObject({ sent: 3, failed: 0 });
    r = await rows(c.id);
    expect(r.every((x) => x.status === 'SENT_API_ACCEPTED')).toBe(true);
    expect(await events('resumed')).toHaveLength(1);
    expect(s.messages).toHaveLength(5);
    expectNoChatTwice(s);
  });

  it('session drops to SCAN_QR_CODE: a long-running worker resumes by itself when WAHA is WORKING again', async () => {
    await updateSettings(ctx, FAST);
    const s = await sandbox({ faults: { dropSessionAfter: 1 } });
    const c = await runningCampaign(4);
    const stop = new AbortController();
    const running = work(client(s), { once: false, stop: stop.signal, heartbeatMs: 1000, maintenanceMs: 60_000 });
    cleanups.push(async () => {
      stop.abort();
      await running;
    });
    await waitFor(async () => (await events('session_not_working')).length > 0);
    s.setFaults({ dropSessionAfter: null });
    s.setSessionStatus(session, 'WORKING');
    await waitFor(async () => (await rows(c.id)).every((x) => x.status === 'SENT_API_ACCEPTED'));
    stop.abort();
    expect(await running).toMatchObject({ sent: 4, failed: 0 });
    expect(s.messages).toHaveLength(4);
    expectNoChatTwice(s);
  });

  it('a database error outside a send is recorded as `worker_error` and the worker carries on (no crash, no duplicate)', async () => {
    const real = t.ctx({ clock: systemClock });
    await updateSettings(real, { ...FAST, timezone: openZone(new Date()) });
    const s = await sandbox();
    const c = await runningCampaign(3);
    // The claim's first statement fails until the table is back.
    await sql`alter table session_pacing rename to session_pacing_away`.execute(t.db);
    const stop = new AbortController();
    const running = runWorker(real, { waha: client(s), resolveMedia: async (p) => p }, { name: 'w-err', version: 'test', stop: stop.signal, heartbeatMs: 200, maintenanceMs: 60_000 });
    cleanups.push(async () => {
      stop.abort();
      await running.catch(() => {});
      await sql`alter table if exists session_pacing_away rename to session_pacing`.execute(t.db);
    });
    await waitFor(async () => (await events('worker_error')).length > 0);
    expect((await events('worker_error'))[0]!.reason).toMatch(/session_pacing/);
    await sql`alter table session_pacing_away rename to session_pacing`.execute(t.db);
    await waitFor(async () => (await rows(c.id)).every((x) => x.status === 'SENT_API_ACCEPTED'));
    stop.abort();
    expect(await running).toMatchObject({ sent: 3 });
    expect(s.messages).toHaveLength(3);
    expectNoChatTwice(s);
  });

  it('latency below the request timeout: every row sent once', async () => {
    await updateSettings(ctx, FAST);
    const s = await sandbox({ faults: { latencyMs: [20, 80] } });
    const c = await runningCampaign(4);
    expect(await work(client(s, 2000))).toMatchObject({ sent: 4, unknown: 0 });
    expect((await rows(c.id)).every((x) => x.status === 'SENT_API_ACCEPTED' && x.waha_message_id)).toBe(true);
    expectNoChatTwice(s);
  });

  it('promise 4: a contact opted out or suppressed after the queue was built is never sent (SKIPPED with the reason)', async () => {
    await updateSettings(ctx, FAST);
    const s = await sandbox();
    const c = await runningCampaign(4);
    await t.db.updateTable('contacts').set({ opted_out: true }).where('id', '=', c.contactIds[1]!).execute();
    await t.db.updateTable('contacts').set({ suppressed: true, suppressed_reason: 'asked by phone' }).where('id', '=', c.contactIds[2]!).execute();
    expect(await work(client(s))).toMatchObject({ sent: 2 });
    const r = await rows(c.id);
    expect(r.map((x) => [x.status, x.skip_reason])).toEqual([
      ['SENT_API_ACCEPTED', null], ['SKIPPED', 'opted_out'], ['SKIPPED', 'suppressed'], ['SENT_API_ACCEPTED', null],
    ]);
    const sentTo = s.messages.map((m) => m.chatId);
    expect(sentTo).not.toContain(c.chats[1]);
    expect(sentTo).not.toContain(c.chats[2]);
    expect((await events('opted_out')).map((e) => e.queue_id)).toEqual([r[1]!.id]);
    expect((await events('skipped')).map((e) => e.queue_id)).toEqual([r[2]!.id]);
    // Skipped rows were never counted as sends.
    expect(Number((await sql<{ n: number }>`select count(*) as n from session_sends where session = ${session}`.execute(t.db)).rows[0]!.n)).toBe(2);
  });

  it('a campaign whose last PENDING rows are skipped at claim time (opted out) completes', async () => {
    await updateSettings(ctx, FAST);
    const s = await sandbox();
    const c = await runningCampaign(3);
    expect(await work(client(s), { once: true })).toMatchObject({ sent: 3 });
    const d = await runningCampaign(2);
    await t.db.updateTable('contacts').set({ opted_out: true }).where('id', 'in', d.contactIds).execute();
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    expect((await rows(d.id)).map((x) => x.status)).toEqual(['SKIPPED', 'SKIPPED']);
    expect((await campaignStatus(c.id)).status).toBe('COMPLETED');
    expect((await campaignStatus(d.id)).status).toBe('COMPLETED');
  });

  /** A sandbox, a RUNNING campaign of 4, and a WAHA client that runs `control` (pause, cancel) on it during the first send. */
  async function controlDuringFirstSend(control: (campaignId: number) => Promise<unknown>) {
    await updateSettings(ctx, FAST);
    const s = await sandbox();
    const c = await runningCampaign(4);
    const waha = client(s);
    let calls = 0;
    const controlling = {
      async send(endpoint: string, body: Record<string, unknown>) {
        if (calls++ === 0) await control(c.id);
        return waha.send(endpoint, body);
      },
    };
    return { s, c, waha, controlling };
  }

  it('promise 5: pause binds from the next claim — a pause during a send lets that one finish and starts no other', async () => {
    const { s, c, waha, controlling } = await controlDuringFirstSend((id) => pauseCampaign(ctx, String(id), 'operator pressed pause'));
    expect(await work(controlling)).toMatchObject({ sent: 1 });
    expect(s.messages).toHaveLength(1);
    const r = await rows(c.id);
    expect(r.map((x) => x.status)).toEqual(['SENT_API_ACCEPTED', 'PENDING', 'PENDING', 'PENDING']);
    expect((await campaignStatus(c.id)).status).toBe('PAUSED');
    // Another worker finds nothing while paused.
    expect(await work(waha)).toMatchObject({ sent: 0 });
    await resumeCampaign(ctx, String(c.id));
    expect(await work(waha)).toMatchObject({ sent: 3 });
    expect(s.messages).toHaveLength(4);
    expectNoChatTwice(s);
  });

  it('promise 5: cancel binds from the next claim — the send in flight is kept, every PENDING row is skipped', async () => {
    const { s, c, waha, controlling } = await controlDuringFirstSend((id) => cancelCampaign(ctx, String(id), 'wrong audience'));
    expect(await work(controlling)).toMatchObject({ sent: 1 });
    expect(s.messages).toHaveLength(1);
    const r = await rows(c.id);
    expect(r.map((x) => [x.status, x.skip_reason])).toEqual([
      ['SENT_API_ACCEPTED', null], ['SKIPPED', 'campaign cancelled'], ['SKIPPED', 'campaign cancelled'], ['SKIPPED', 'campaign cancelled'],
    ]);
    expect((await campaignStatus(c.id)).status).toBe('CANCELLED');
    expect(await work(waha)).toMatchObject({ sent: 0 });
    expect(s.messages).toHaveLength(1);
  });

  it('promise 5: a cancel committing while a claim is in progress neither deadlocks nor lets a send start', async () => {
    await updateSettings(ctx, FAST);
    const s = await sandbox();
    const c = await runningCampaign(3);
    let worker: Promise<unknown> | undefined;
    // What cancelCampaign does, held open: lock the campaign, then (once the claim is under way) skip its PENDING rows.
    await t.db.transaction().execute(async (trx) => {
      await sql`select id from campaigns where id = ${c.id} for update`.execute(trx);
      worker = work(client(s)).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 400));
      await sql`update campaigns set status = 'CANCELLED', cancelled_at = now() where id = ${c.id}`.execute(trx);
      await sql`update send_queue set status = 'SKIPPED', skip_reason = 'campaign cancelled' where campaign_id = ${c.id} and status in ('PENDING', 'PAUSED')`.execute(trx);
    });
    const result = await worker;
    expect(result, String(result)).not.toBeInstanceOf(Error);
    expect(result).toMatchObject({ sent: 0 });
    // Not even a deadlock the worker survived.
    expect(await events('worker_error')).toEqual([]);
    expect((await rows(c.id)).map((x) => x.status)).toEqual(['SKIPPED', 'SKIPPED', 'SKIPPED']);
    expect(s.messages).toHaveLength(0);
  });

  it('promise 5: a test-run cancel committing while a claim is in progress neither deadlocks nor lets a send start', async () => {
    await updateSettings(ctx, FAST);
    const s = await sandbox();
    const { campaign } = await createCampaign(ctx, { name: `tr${testNo}`, brand: `trb${testNo}`, session, template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } });
    const list = `QA${testNo}`;
    const names = [0, 1, 2].map((k) => `Tester ${testNo}-${k}`);
    for (const [k, name] of names.entries()) await addTestUser(ctx, { name, phone: `+24381${String(7_000_000 + testNo * 10 + k)}` });
    await createTestList(ctx, { name: list });
    await addTestListMembers(ctx, list, names);
    const run = await startTestRun(ctx, String(campaign.id), list);
    const runId = run.testRun.id;
    expect(run.testRun.status).toBe('RUNNING');
    let worker: Promise<unknown> | undefined;
    await t.db.transaction().execute(async (trx) => {
      await sql`select id from campaign_test_runs where id = ${runId} for update`.execute(trx);
      worker = work(client(s)).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 400));
      await sql`update campaign_test_run_recipients set status = 'SKIPPED', skip_reason = 'test run cancelled' where test_run_id = ${runId} and status in ('PENDING', 'PAUSED')`.execute(trx);
      await sql`update campaign_test_runs set status = 'CANCELLED', cancelled_at = now() where id = ${runId}`.execute(trx);
    });
    const result = await worker;
    expect(result, String(result)).not.toBeInstanceOf(Error);
    expect(result).toMatchObject({ sent: 0 });
    // Not even a deadlock the worker survived.
    expect(await events('worker_error')).toEqual([]);
    const statuses = await t.db.selectFrom('campaign_test_run_recipients').select('status').where('test_run_id', '=', runId).execute();
    expect(statuses.map((x) => x.status)).toEqual(['SKIPPED', 'SKIPPED', 'SKIPPED']);
    expect(s.messages).toHaveLength(0);
  });

  it('auto-pause: a campaign whose recent failure rate passes failure_pause_threshold pauses itself, with a reason and a notification', async () => {
    await updateSettings(ctx, { ...FAST, max_attempts: 1, failure_pause_threshold: 0.5, failure_window_sends: 4 });
    const s = await sandbox({ faults: { errorRate5xx: 1 } });
    const c = await runningCampaign(8);
    expect(await work(client(s))).toMatchObject({ failed: 4, sent: 0 });
    const r = await rows(c.id);
    expect(r.filter((x) => x.status === 'FAILED')).toHaveLength(4);
    expect(r.filter((x) => x.status === 'PENDING')).toHaveLength(4);
    const camp = await campaignStatus(c.id);
    expect(camp).toMatchObject({ status: 'PAUSED', auto_paused: true });
    expect(camp.pause_reason).toMatch(/4 of the last 4 sends failed/);
    const paused = await events('paused');
    expect(paused).toHaveLength(1);
    const notes = await t.db.selectFrom('notifications').selectAll().where('kind', '=', 'campaign_auto_paused').execute();
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ level: 'error', campaign_id: c.id });
    // While auto-paused, nothing more is attempted.
    const before = sendRequests(s).length;
    expect(await work(client(s))).toMatchObject({ failed: 0 });
    expect(sendRequests(s).length).toBe(before);
  });
});

describe('why is nothing sending? (answered from worker_events)', () => {
  it('promise 1: outside the window → an `outside_window` event whose next attempt is the window opening', async () => {
    clock.set('2026-03-02T06:00:00Z'); // Monday 06:00 UTC
    await updateSettings(ctx, { ...FAST, sending_window_start: '09:00', sending_window_end: '17:30', sending_days: [1, 2, 3, 4, 5] });
    const s = await sandbox();
    await runningCampaign(2);
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    const ev = await events('outside_window');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.next_attempt_at?.toISOString()).toBe('2026-03-02T09:00:00.000Z');
    expect(ev[0]!.waha_session).toBe(session);
    expect(s.messages).toHaveLength(0);
    clock.set('2026-03-02T17:30:00Z'); // the end is exclusive
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    clock.set('2026-03-07T10:00:00Z'); // Saturday is not a sending day
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    const all = await events('outside_window');
    expect(all.at(-1)!.next_attempt_at?.toISOString()).toBe('2026-03-09T09:00:00.000Z');
    expect(s.messages).toHaveLength(0);
    clock.set('2026-03-09T09:00:00Z');
    expect(await work(client(s))).toMatchObject({ sent: 2 });
  });

  it('promise 1: daily_limit reached → a `daily_limit` event with the next day\'s opening; nothing more that day', async () => {
    await updateSettings(ctx, { ...FAST, daily_limit: 3, hourly_limit: 3, sending_window_start: '09:00', sending_window_end: '17:30' });
    const s = await sandbox();
    const c = await runningCampaign(5);
    expect(await work(client(s))).toMatchObject({ sent: 3 });
    const ev = await events('daily_limit');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.next_attempt_at?.toISOString()).toBe('2026-03-03T09:00:00.000Z');
    clock.set('2026-03-02T17:00:00Z');
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    clock.set('2026-03-03T09:00:00Z');
    expect(await work(client(s))).toMatchObject({ sent: 2 });
    expect((await rows(c.id)).every((x) => x.status === 'SENT_API_ACCEPTED')).toBe(true);
  });

  it('promise 1: hourly_limit → an `hourly_limit` event; the rolling hour releases exactly 60 minutes after the oldest send', async () => {
    await updateSettings(ctx, { ...FAST, daily_limit: 10, hourly_limit: 2 });
    const s = await sandbox();
    await runningCampaign(5);
    const start = clock.now().getTime();
    expect(await work(client(s))).toMatchObject({ sent: 2 });
    const ev = await events('hourly_limit');
    expect(ev[0]!.next_attempt_at?.getTime()).toBe(start + HOUR);
    clock.set(start + HOUR - 1);
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    clock.set(start + HOUR);
    expect(await work(client(s))).toMatchObject({ sent: 2 });
  });

  it('promise 1: the drawn delay and the block pause hold between sends, each with its event', async () => {
    await updateSettings(ctx, { ...FAST, delay_min_seconds: 30, delay_max_seconds: 30, pause_after_sends: 2, pause_min_minutes: 5, pause_max_minutes: 5 });
    const s = await sandbox();
    await runningCampaign(3);
    const start = clock.now().getTime();
    // The delay runs from when the request left, plus the arrival margin (send-slot.ts).
    const delay = 30_000 + ARRIVAL_MARGIN_MS;
    expect(await work(client(s))).toMatchObject({ sent: 1 });
    expect((await events('delay'))[0]!.next_attempt_at?.getTime()).toBe(start + delay);
    clock.set(start + delay - 1);
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    clock.set(start + delay);
    expect(await work(client(s))).toMatchObject({ sent: 1 });
    expect((await events('block_pause'))[0]!.next_attempt_at?.getTime()).toBe(start + delay + 5 * MIN);
    clock.set(start + delay + 5 * MIN - 1);
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    clock.set(start + delay + 5 * MIN);
    expect(await work(client(s))).toMatchObject({ sent: 1 });
  });
});

describe('promise 1: the delay also runs from WAHA\'s answer', () => {
  it('promise 1: a send WAHA answers 5 s after it left holds the next one its delay after the answer (the request may have reached WAHA late)', async () => {
    await updateSettings(ctx, { ...FAST, delay_min_seconds: 30, delay_max_seconds: 30 });
    const s = await sandbox();
    await runningCampaign(2);
    const start = clock.now().getTime();
    const waha = client(s);
    const slow = {
      async send(e: string, body: Record<string, unknown>): Promise<SendOutcome> {
        const r = await waha.send(e, body);
        clock.advance(5_000);
        return r;
      },
    };
    expect(await work(slow)).toMatchObject({ sent: 1 });
    const p = await t.db.selectFrom('session_pacing').select('next_allowed_at').where('session', '=', session).executeTakeFirstOrThrow();
    expect(p.next_allowed_at!.getTime()).toBe(start + 5_000 + 30_000);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
