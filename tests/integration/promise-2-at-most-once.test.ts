// promise 2 (at most once), tried on the paths next to the ones worker-faults.test.ts and the e2e
// kill/race tests walk: WAHA's 501 for buttons or a list on each engine (the fallback leaves under
// a later claim), a fallback that times out, a worker restarted between the 501 and its fallback,
// two workers racing on a 501 path, a claim given back unsent, a test run and a campaign writing
// to one number in one pass, and the operator's `resolve --resend` twice, at once, or racing a
// worker. Counted where WhatsApp sees it: the sandbox's own record of messages and requests.
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { FakeClock, systemClock } from '../../src/core/clock.js';
import type { Context } from '../../src/core/context.js';
import { CampaignError } from '../../src/core/errors.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { addTestListMembers, createTestList } from '../../src/core/test-lists/test-list.service.js';
import { startTestRun } from '../../src/core/test-runs/index.js';
import { addTestUser } from '../../src/core/test-users/test-user.service.js';
import { createWahaClient, type SendOutcome } from '../../src/core/waha/index.js';
import { resolveUnknown } from '../../src/core/worker/resolve-unknown.js';
import { runWorker, type WorkerOptions, type WorkerPorts } from '../../src/core/worker/run-worker.js';
import type { MediaResolver } from '../../src/core/worker/send-recipient.js';
import { type Engine, ENGINES, type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/index.js';
import { refused } from '../helpers/refused.js';
import { alwaysOpenSettings, BUTTONS_TEMPLATE, drcContact } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/** A list template whose saved fallback is a poll (templates/list_experimental.json, shortened). */
const LIST_TEMPLATE = {
  mode: 'advanced',
  type: 'list',
  experimental: true,
  fallback: { type: 'poll', payload: { poll: { name: '{{first_name}}, which {{brand}} offer?', options: ['Soap', 'Lotion'] } } },
  payload: {
    message: {
      title: '{{brand}} offers', description: '{{first_name}}, pick one', footer: 'Reply any time', button: 'Open list',
      sections: [{ title: 'Offers', rows: [{ title: 'Soap', rowId: 'soap' }, { title: 'Lotion', rowId: 'lotion' }] }],
    },
  },
};

const clock = new FakeClock();
let t: TestDatabase;
let ctx: Context;
let seq = 0;
let session = '';
const cleanups: Array<() => Promise<unknown>> = [];

/** Nothing but the path under test holds a send back; the window is open now (real time, so WAHA's message timestamps and our claims agree). */
const fast = () => ({ ...alwaysOpenSettings(), max_attempts: 3 });

beforeAll(async () => {
  t = await createTestDatabase({ clock });
  ctx = t.ctx();
});
afterAll(async () => t?.drop());
beforeEach(async () => {
  clock.set(Date.now());
  session = `p2s${++seq}`;
  await updateSettings(ctx, fast());
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  // Nothing of this test may be claimed by the next one's workers.
  await sql`update campaigns set status = 'CANCELLED' where status in ('RUNNING', 'PAUSED')`.execute(t.db);
  await sql`update campaign_test_runs set status = 'CANCELLED' where status in ('RUNNING', 'PAUSED')`.execute(t.db);
  await sql`update send_queue set status = 'SKIPPED', skip_reason = 'test cleanup' where status in ('UNKNOWN', 'PENDING')`.execute(t.db);
  await sql`update campaign_test_run_recipients set status = 'SKIPPED', skip_reason = 'test cleanup' where status in ('UNKNOWN', 'PENDING')`.execute(t.db);
});

async function sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const s = await startSandbox({ port: 0, seed: 2000 + seq, sessions: [session], ackDelayMs: [1, 5], ...options });
  cleanups.push(() => s.close());
  return s;
}

/** A sandbox of `engine` on which buttons (and, on WEBJS, lists) answer 501: natively on WEBJS and GOWS, by the sandbox's fault on NOWEB. */
const sandbox501 = (engine: Engine, options: SandboxOptions = {}) =>
  sandbox({ engine, ...options, faults: { ...(engine === 'NOWEB' ? { notImplementedButtons: true } : {}), ...options.faults } });

/** `n` contacts of a fresh brand and a campaign of `template` to them, approved, queued and RUNNING. */
async function runningCampaign(n: number, template: unknown = BUTTONS_TEMPLATE, first = 40_000_000 + seq * 100) {
  const brand = `p2brand${seq}_${first}`;
  const chats: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = drcContact(first + i, { name: `Person ${i}`, first_name: `Person${i}`, city: 'Kinshasa', source: 'store', store_id: 'GOM-12', brand });
    await t.db.insertInto('contacts').values(c).execute();
    chats.push(c.chat_id);
  }
  const { campaign } = await createCampaign(ctx, { name: `p2-${seq}-${first}`, brand, session, template });
  await approveCampaign(ctx, String(campaign.id));
  expect((await buildQueue(ctx, String(campaign.id))).queued).toBe(n);
  await startCampaign(ctx, String(campaign.id));
  return { id: campaign.id, chats, brand };
}

const client = (s: Sandbox, timeoutMs = 3000) => createWahaClient({ baseUrl: s.url, timeoutMs });

function work(waha: WorkerPorts['waha'], options: Partial<WorkerOptions> = {}, resolveMedia: MediaResolver = async (p) => p, c: Context = ctx) {
  return runWorker(c, { waha, resolveMedia, rng: () => 0.5 }, { once: true, name: 'p2-worker', version: 'test', stop: new AbortController().signal, maintenanceMs: 0, ...options });
}

/** Polls `check` every 50 ms of real time for up to 20 s. */
async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const rows = (campaignId: number) => t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', campaignId).orderBy('id').execute();
const sends = (s: Sandbox) => s.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/send')).map((r) => [r.path, r.status]);
const ours = (s: Sandbox) => s.messages.filter((m) => m.fromMe);

/** Exactly one message per chat in WAHA's record, each one the saved fallback. */
function expectOneFallbackPerChat(s: Sandbox, chats: string[], fallbackEndpoint: string): void {
  const got = ours(s).map((m) => m.chatId).sort();
  expect(got, 'one message per contact').toEqual([...chats].sort());
  expect(new Set(ours(s).map((m) => m.endpoint))).toEqual(new Set([fallbackEndpoint]));
}

describe('promise 2 on the 501 → fallback path', () => {
  for (const engine of ENGINES) {
    it(`promise 2: ${engine}: buttons answered 501 reach each contact exactly once, as the saved fallback, and nothing more goes out on later passes`, async () => {
      const s = await sandbox501(engine);
      const c = await runningCampaign(3);
      expect(await work(client(s))).toMatchObject({ sent: 3, failed: 0, unknown: 0 });
      expectOneFallbackPerChat(s, c.chats, '/api/sendText');
      // One counted 501, then the fallbacks straight away (the worker remembers the 501).
      expect(sends(s)).toEqual([['/api/sendButtons', 501], ['/api/sendText', 201], ['/api/sendText', 201], ['/api/sendText', 201]]);
      const r = await rows(c.id);
      expect(r.map((x) => [x.status, x.used_fallback, x.attempts])).toEqual(Array(3).fill(['SENT_API_ACCEPTED', true, 1]));
      // Each row holds the raw id of the one message WAHA has for its chat (each engine answers in its own shape).
      for (const row of r) expect(row.waha_raw_id).toBe(ours(s).find((m) => m.chatId === row.chat_id)!.rawId);
      clock.advance(60_000);
      expect(await work(client(s), { maintenanceMs: 60_000 })).toMatchObject({ sent: 0, reconciled: 0 });
      expect(ours(s)).toHaveLength(3);
    });
  }

  it('promise 2: WEBJS: a list answered 501 reaches each contact exactly once, as its saved poll', async () => {
    const s = await sandbox501('WEBJS');
    const c = await runningCampaign(2, LIST_TEMPLATE);
    expect(await work(client(s))).toMatchObject({ sent: 2 });
    expectOneFallbackPerChat(s, c.chats, '/api/sendPoll');
    expect(sends(s)).toEqual([['/api/sendList', 501], ['/api/sendPoll', 201], ['/api/sendPoll', 201]]);
  });

  for (const engine of ENGINES) {
    it(`promise 2: ${engine}: a fallback that times out is UNKNOWN, never re-sent by later passes, and reconciled from WAHA's chat history as the fallback`, async () => {
      const s = await sandbox501(engine, { faults: { timeoutRate: 1, timeoutHoldMs: 10_000 } });
      const c = await runningCampaign(1);
      const waha = client(s, 300);
      // The 501 comes back at once; only the fallback, which WAHA takes, is held past the timeout.
      // (Maintenance only before the first claim, so this pass cannot reconcile what it just sent.)
      expect(await work(waha, { maintenanceMs: 60_000 })).toMatchObject({ unknown: 1, sent: 0 });
      expect((await rows(c.id))[0]).toMatchObject({ status: 'UNKNOWN', used_fallback: true });
      // Passes that cannot prove it (no chat history asked) never send it again, whatever WAHA does now.
      s.setFaults({ timeoutRate: 0 });
      const sendOnly = { send: waha.send.bind(waha) };
      for (let i = 0; i < 3; i++) {
        clock.advance(61_000);
        expect(await work(sendOnly, { maintenanceMs: 1 })).toMatchObject({ sent: 0, reconciled: 0 });
      }
      expect(sends(s)).toEqual([['/api/sendButtons', 501], ['/api/sendText', 201]]);
      // WAHA's record proves it: reconciled as the fallback, with WAHA's id in this engine's form.
      expect(await work(client(s), { maintenanceMs: 1 })).toMatchObject({ reconciled: 1, sent: 0 });
      const [row] = await rows(c.id);
      expect(row).toMatchObject({ status: 'SENT_API_ACCEPTED', used_fallback: true, waha_raw_id: ours(s)[0]!.rawId });
      expect(ours(s)).toHaveLength(1);
      expect(sends(s)).toHaveLength(2);
    });
  }

  it('promise 2: a buttons request that times out before WAHA would have answered 501 stays UNKNOWN (nothing to prove); `resolve --resend` then sends the fallback exactly once', async () => {
    const s = await sandbox501('GOWS', { faults: { latencyMs: 1500 } });
    const c = await runningCampaign(1);
    expect(await work(client(s, 300))).toMatchObject({ unknown: 1 });
    expect((await rows(c.id))[0]).toMatchObject({ status: 'UNKNOWN', used_fallback: false });
    s.setFaults({ latencyMs: 0 });
    await new Promise((r) => setTimeout(r, 1600)); // the held 501 is answered to nobody
    clock.advance(61_000);
    // WAHA has no message for the chat: nothing proves it, nothing re-sends it.
    expect(await work(client(s), { maintenanceMs: 1 })).toMatchObject({ reconciled: 0, sent: 0 });
    expect(ours(s)).toHaveLength(0);
    expect((await rows(c.id))[0]!.status).toBe('UNKNOWN');
    await resolveUnknown(ctx, String(c.id), 'resend');
    expect(await work(client(s))).toMatchObject({ sent: 1 });
    expectOneFallbackPerChat(s, c.chats, '/api/sendText');
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    expect(ours(s)).toHaveLength(1);
  });

  it('promise 2: a worker stopped between the 501 and its fallback: a fresh worker sends the fallback (not the buttons again), once per contact', async () => {
    const s = await sandbox501('WEBJS');
    const c = await runningCampaign(3);
    const waha = client(s);
    const stop = new AbortController();
    // SIGTERM arrives while the first (501) request is in flight: that send is recorded, then the worker exits.
    const stopping = { send: async (e: string, b: Record<string, unknown>) => { stop.abort(); return waha.send(e, b); } };
    expect(await work(stopping, { once: false, stop: stop.signal })).toMatchObject({ sent: 0, retried: 1 });
    expect((await rows(c.id)).map((x) => [x.status, x.used_fallback])).toEqual([['PENDING', true], ['PENDING', false], ['PENDING', false]]);
    // A new process knows nothing of the 501 but the row says to send its fallback.
    expect(await work(waha, { name: 'p2-fresh' })).toMatchObject({ sent: 3 });
    expectOneFallbackPerChat(s, c.chats, '/api/sendText');
    expect(sends(s).map(([p]) => p)).toEqual(['/api/sendButtons', '/api/sendText', '/api/sendButtons', '/api/sendText', '/api/sendText']);
    expect((await rows(c.id)).every((x) => x.status === 'SENT_API_ACCEPTED' && x.used_fallback)).toBe(true);
  });

  it('promise 2: a worker that dies while its fallback is in flight leaves the row for reconciliation (UNKNOWN, then proven), never a second send', async () => {
    const s = await sandbox501('GOWS');
    const c = await runningCampaign(2);
    const waha = client(s);
    // The fallback reaches WAHA, then the process dies before it can record the answer.
    const dying = {
      async send(endpoint: string, body: Record<string, unknown>): Promise<SendOutcome> {
        const outcome = await waha.send(endpoint, body);
        if (endpoint === '/api/sendText') throw new Error('process killed');
        return outcome;
      },
    };
    await expect(work(dying, { name: 'p2-dies', maintenanceMs: 60_000 })).rejects.toThrow(/process killed/);
    expect((await rows(c.id)).map((x) => [x.status, x.used_fallback])).toEqual([['SENDING', true], ['PENDING', false]]);
    // The dead claim's hold on the session expires (nobody settled it); a peer then finds the claim:
    // UNKNOWN (it may have been sent), proven from WAHA's record; and it sends the other contact's fallback.
    clock.advance(31_000);
    expect(await work(waha, { name: 'p2-peer' })).toMatchObject({ reconciled: 1, sent: 1 });
    expect((await rows(c.id)).map((x) => [x.status, x.used_fallback])).toEqual([['SENT_API_ACCEPTED', true], ['SENT_API_ACCEPTED', true]]);
    expectOneFallbackPerChat(s, c.chats, '/api/sendText');
    expect(sends(s)).toEqual([['/api/sendButtons', 501], ['/api/sendText', 201], ['/api/sendButtons', 501], ['/api/sendText', 201]]);
    const unknown = await t.db.selectFrom('worker_events').select('reason').where('event', '=', 'unknown_outcome').where('campaign_id', '=', c.id).execute();
    expect(unknown.map((e) => e.reason)).toEqual([expect.stringMatching(/p2-dies stopped between claim and result/)]);
  });

  it('promise 2: two workers racing on one session through the 501 path: each contact gets exactly one message, each worker spends at most one 501', async () => {
    const real = t.ctx({ clock: systemClock });
    const s = await sandbox501('GOWS', { faults: { latencyMs: [5, 30] } });
    const c = await runningCampaign(8);
    const stop = new AbortController();
    const base = { once: false, stop: stop.signal, maintenanceMs: 60_000, heartbeatMs: 200 };
    const workers = ['p2-race-a', 'p2-race-b'].map((name) => work(client(s), { ...base, name }, undefined, real));
    await until(async () => (await rows(c.id)).every((x) => !['PENDING', 'SENDING'].includes(x.status)));
    stop.abort();
    const [a, b] = await Promise.all(workers);
    expect(a!.sent + b!.sent).toBe(8);
    expect(a!.unknown + b!.unknown + a!.failed + b!.failed).toBe(0);
    expectOneFallbackPerChat(s, c.chats, '/api/sendText');
    const buttons = sends(s).filter(([p]) => p === '/api/sendButtons');
    expect(buttons.length).toBeGreaterThanOrEqual(1);
    expect(buttons.length).toBeLessThanOrEqual(2);
    expect((await rows(c.id)).every((x) => x.status === 'SENT_API_ACCEPTED' && x.used_fallback && x.attempts === 1)).toBe(true);
    // Every message-creating request counted once, the 501s included.
    const counted = await t.db.selectFrom('session_sends').select('id').where('session', '=', session).execute();
    expect(counted).toHaveLength(sends(s).length);
  });

  it('promise 2: a fallback claim that lost its hold on the session (a peer took its worker for dead) is given back unsent, then the fallback goes exactly once', async () => {
    const s = await sandbox501('NOWEB');
    const c = await runningCampaign(1);
    let calls = 0;
    // The buttons resolve at once (501); while the fallback's media resolves, a peer lifts the hold.
    const slowOnce: MediaResolver = async (p) => {
      if (++calls === 2) await t.db.updateTable('session_pacing').set({ in_flight_until: null, in_flight_by: null }).where('session', '=', session).execute();
      return p;
    };
    const summary = await work(client(s), {}, slowOnce);
    expect(summary).toMatchObject({ sent: 1, unknown: 0 });
    const [row] = await rows(c.id);
    expect(row).toMatchObject({ status: 'SENT_API_ACCEPTED', used_fallback: true, attempts: 1 });
    expectOneFallbackPerChat(s, c.chats, '/api/sendText');
    expect(sends(s)).toEqual([['/api/sendButtons', 501], ['/api/sendText', 201]]);
    const released = await t.db.selectFrom('worker_events').selectAll().where('queue_id', '=', row!.id).where('event', '=', 'retry').execute();
    expect(released).toHaveLength(1);
    expect(released[0]!.reason).toMatch(/nothing was sent/);
    // The given-back claim does not count: the 501 and the fallback do.
    expect(await t.db.selectFrom('session_sends').select('id').where('session', '=', session).execute()).toHaveLength(2);
  });
});

describe('promise 2 when no request can leave', () => {
  // Found by this file: media that cannot be resolved (its file is missing from MEDIA_DIR, say)
  // used to throw out of sendRecipient after the claim committed; run-worker.ts treats any error
  // between claim and outcome as "the request may have left" and ended the process, so a peer
  // marked the row UNKNOWN although nothing reached WAHA. Now the row FAILS with the reason.
  it('promise 2: media that cannot be resolved sends nothing, and the row is not taken for a send that may have happened (no UNKNOWN), nor the worker stopped', async () => {
    const s = await sandbox();
    const c = await runningCampaign(1, { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' });
    const missing: MediaResolver = async () => {
      throw new CampaignError('MEDIA_NOT_FOUND', 'The file of media asset 1 "flyer" is missing at /media/x.png (ENOENT). Check MEDIA_DIR, or upload the file again.', {});
    };
    const outcome = await work(client(s), {}, missing).then(() => 'returned', (e: unknown) => `threw: ${String(e)}`);
    clock.advance(120_000);
    await work(client(s), { name: 'p2-peer', maintenanceMs: 1 }).catch(() => {});
    expect(sends(s)).toEqual([]);
    expect((await rows(c.id))[0]!.status).not.toBe('UNKNOWN');
    expect(outcome).toBe('returned');
    expect((await rows(c.id))[0]).toMatchObject({ status: 'FAILED', last_error: expect.stringMatching(/media could not be resolved: .*missing/) });
  });

  it('promise 2: a media failure that is not the operator\'s (a disk or driver error) sends nothing; the row waits for a retry, never UNKNOWN, and the worker carries on', async () => {
    const s = await sandbox();
    const c = await runningCampaign(1, { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' });
    const broken: MediaResolver = async () => {
      throw new Error('EACCES: permission denied, open /media/x.png');
    };
    await expect(work(client(s), {}, broken)).resolves.toBeTruthy();
    expect(sends(s)).toEqual([]);
    const [row] = await rows(c.id);
    expect(row).toMatchObject({ status: 'PENDING', attempts: 0, last_error: expect.stringMatching(/EACCES/) });
    expect(row!.next_attempt_at!.getTime()).toBeGreaterThan(clock.now().getTime());
    clock.advance(61_000);
    expect(await work(client(s))).toMatchObject({ sent: 1 });
    expect(sends(s)).toEqual([['/api/sendText', 201]]);
  });

  it('promise 2: a row a peer took for abandoned (UNKNOWN) between its claim and its request is not sent by the claim, and goes back to the queue', async () => {
    const s = await sandbox();
    const c = await runningCampaign(1, { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' });
    let peer = true;
    const peerMarksUnknown: MediaResolver = async (p) => {
      if (peer) await t.db.updateTable('send_queue').set({ status: 'UNKNOWN' }).where('campaign_id', '=', c.id).execute();
      peer = false;
      return p;
    };
    // The claim's request does not leave; the row goes back, and the next claim sends it once.
    expect(await work(client(s), {}, peerMarksUnknown)).toMatchObject({ sent: 1, retried: 1 });
    expect(sends(s)).toEqual([['/api/sendText', 201]]);
    expect((await rows(c.id))[0]).toMatchObject({ status: 'SENT_API_ACCEPTED', attempts: 1 });
  });
});

describe('promise 2 across owners: a test run and a campaign writing to one number', () => {
  it('promise 2: a test-run row and a campaign row for the same number in one pass each send once (one message per owner), through the 501 path', async () => {
    const s = await sandbox501('WEBJS');
    const n = 40_900_000 + seq;
    const c = await runningCampaign(1, BUTTONS_TEMPLATE, n);
    const number = `+${c.chats[0]!.split('@')[0]}`;
    await addTestUser(ctx, { name: `Same Number ${seq}`, phone: number });
    await createTestList(ctx, { name: `same${seq}` });
    await addTestListMembers(ctx, `same${seq}`, [`Same Number ${seq}`]);
    const { campaign: draft } = await createCampaign(ctx, { name: `p2-draft-${seq}`, brand: c.brand, session, template: BUTTONS_TEMPLATE });
    const run = await startTestRun(ctx, String(draft.id), `same${seq}`);
    expect(await work(client(s))).toMatchObject({ sent: 2, unknown: 0 });
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    const toChat = ours(s).filter((m) => m.chatId === c.chats[0]);
    expect(toChat).toHaveLength(2);
    const testRow = await t.db.selectFrom('campaign_test_run_recipients').selectAll().where('test_run_id', '=', run.testRun.id).executeTakeFirstOrThrow();
    const [queueRow] = await rows(c.id);
    expect(testRow).toMatchObject({ status: 'SENT_API_ACCEPTED', used_fallback: true, attempts: 1 });
    expect(queueRow).toMatchObject({ status: 'SENT_API_ACCEPTED', used_fallback: true, attempts: 1 });
    // Two different messages, each row holding its own.
    expect(new Set([testRow.waha_message_id, queueRow!.waha_message_id])).toEqual(new Set(toChat.map((m) => m.messageId)));
  });

  it('promise 2: a test-run row and a campaign row to one number both UNKNOWN: each is reconciled to its own message, none re-sent', async () => {
    const s = await sandbox({ engine: 'NOWEB', faults: { timeoutRate: 1, timeoutHoldMs: 10_000 } });
    const n = 40_950_000 + seq;
    const c = await runningCampaign(1, { mode: 'simple', type: 'text', text: 'Campaign {{first_name}}' }, n);
    await addTestUser(ctx, { name: `Twin ${seq}`, phone: `+${c.chats[0]!.split('@')[0]}` });
    await createTestList(ctx, { name: `twin${seq}` });
    await addTestListMembers(ctx, `twin${seq}`, [`Twin ${seq}`]);
    const { campaign: draft } = await createCampaign(ctx, { name: `p2-twin-${seq}`, brand: c.brand, session, template: { mode: 'simple', type: 'text', text: 'Test {{first_name}}' } });
    const run = await startTestRun(ctx, String(draft.id), `twin${seq}`);
    expect(await work(client(s, 300), { maintenanceMs: 60_000 })).toMatchObject({ unknown: 2, reconciled: 0 });
    s.setFaults({ timeoutRate: 0 });
    expect(await work(client(s), { maintenanceMs: 1 })).toMatchObject({ reconciled: 2, sent: 0 });
    const testRow = await t.db.selectFrom('campaign_test_run_recipients').selectAll().where('test_run_id', '=', run.testRun.id).executeTakeFirstOrThrow();
    const [queueRow] = await rows(c.id);
    expect(testRow.status).toBe('SENT_API_ACCEPTED');
    expect(queueRow!.status).toBe('SENT_API_ACCEPTED');
    expect(testRow.waha_raw_id).not.toBe(queueRow!.waha_raw_id);
    expect(new Set([testRow.waha_raw_id, queueRow!.waha_raw_id])).toEqual(new Set(ours(s).map((m) => m.rawId)));
    expect(ours(s)).toHaveLength(2);
    expect(sends(s)).toHaveLength(2);
  });
});

describe('promise 2: the operator\'s resend', () => {
  /** A campaign of `n` whose every send came back UNKNOWN without reaching WAHA. */
  async function unknownCampaign(s: Sandbox, n: number, template: unknown = { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' }) {
    const c = await runningCampaign(n, template);
    const waha = client(s);
    const lost = {
      async send(endpoint: string, body: Record<string, unknown>): Promise<SendOutcome> {
        // Buttons get WAHA's real 501; anything else is "lost after it left".
        if (endpoint === '/api/sendButtons') return waha.send(endpoint, body);
        return { kind: 'unknown', error: 'connection reset after the request left' };
      },
    };
    expect(await work(lost)).toMatchObject({ unknown: n });
    expect(ours(s)).toHaveLength(0);
    return c;
  }

  it('promise 2: `resolve --resend` twice sends once: the second finds nothing UNKNOWN and is refused', async () => {
    const s = await sandbox();
    const c = await unknownCampaign(s, 2);
    expect((await resolveUnknown(ctx, String(c.id), 'resend')).queueRows).toBe(2);
    const again = await refused(resolveUnknown(ctx, String(c.id), 'resend'));
    expect(again.code).toBe('NOT_FOUND');
    expect(again.message).toMatch(/no UNKNOWN sends/);
    expect(await work(client(s))).toMatchObject({ sent: 2 });
    // After the sends, a resend has nothing to act on either.
    expect((await refused(resolveUnknown(ctx, String(c.id), 'resend'))).code).toBe('NOT_FOUND');
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    expect(ours(s).map((m) => m.chatId).sort()).toEqual([...c.chats].sort());
    const audits = await t.db.selectFrom('admin_activity').select('action').where('campaign_id', '=', c.id).where('action', '=', 'campaign.resolve_resend').execute();
    expect(audits).toHaveLength(1);
  });

  it('promise 2: two `resolve --resend` at once: one resends, the other is refused; each contact gets one message', async () => {
    const s = await sandbox();
    const c = await unknownCampaign(s, 3);
    const results = await Promise.allSettled([resolveUnknown(ctx, String(c.id), 'resend'), resolveUnknown(ctx, String(c.id), 'resend')]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    expect((ok[0] as PromiseFulfilledResult<{ queueRows: number }>).value.queueRows).toBe(3);
    const no = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(no.reason).toMatchObject({ code: 'NOT_FOUND' });
    expect(await work(client(s))).toMatchObject({ sent: 3 });
    expect(await work(client(s))).toMatchObject({ sent: 0 });
    expect(ours(s).map((m) => m.chatId).sort()).toEqual([...c.chats].sort());
  });

  it('promise 2: `resolve --resend` racing a running worker: each contact gets exactly one message, whichever commits first', async () => {
    const real = t.ctx({ clock: systemClock });
    const s = await sandbox({ faults: { latencyMs: [5, 20] } });
    const c = await unknownCampaign(s, 4);
    const stop = new AbortController();
    const worker = work(client(s), { once: false, stop: stop.signal, heartbeatMs: 100, maintenanceMs: 50, name: 'p2-racer' }, undefined, real);
    cleanups.push(async () => {
      stop.abort();
      await worker.catch(() => {});
    });
    await new Promise((r) => setTimeout(r, 150));
    await Promise.allSettled([resolveUnknown(real, String(c.id), 'resend'), resolveUnknown(real, String(c.id), 'resend')]);
    await until(async () => (await rows(c.id)).every((x) => x.status === 'SENT_API_ACCEPTED'));
    await new Promise((r) => setTimeout(r, 300)); // a few more passes: nothing more may leave
    stop.abort();
    expect(await worker).toMatchObject({ sent: 4, unknown: 0 });
    expect(ours(s).map((m) => m.chatId).sort()).toEqual([...c.chats].sort());
    expect(sends(s)).toHaveLength(4);
  });

  it('promise 2: resending an UNKNOWN fallback sends the fallback again, not the buttons (no second 501, one message)', async () => {
    const s = await sandbox501('GOWS');
    const c = await unknownCampaign(s, 1, BUTTONS_TEMPLATE);
    expect((await rows(c.id))[0]).toMatchObject({ status: 'UNKNOWN', used_fallback: true });
    expect(sends(s)).toEqual([['/api/sendButtons', 501]]);
    await resolveUnknown(ctx, String(c.id), 'resend');
    expect((await rows(c.id))[0]).toMatchObject({ status: 'PENDING', used_fallback: true });
    // A fresh worker (no memory of the 501) reads it from the row.
    expect(await work(client(s), { name: 'p2-after-resend' })).toMatchObject({ sent: 1 });
    expect(sends(s)).toEqual([['/api/sendButtons', 501], ['/api/sendText', 201]]);
    expectOneFallbackPerChat(s, c.chats, '/api/sendText');
    expect((await rows(c.id))[0]).toMatchObject({ status: 'SENT_API_ACCEPTED', used_fallback: true });
  });
});
