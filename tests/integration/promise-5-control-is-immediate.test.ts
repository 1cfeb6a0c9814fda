// promise 5 (control is immediate: once pause or cancel commits, no new send starts), tried on the
// paths next to the ones worker-faults.test.ts and test-runs.test.ts walk: a pause or cancel that
// commits during WAHA's 501 for buttons (the row goes back to the queue for its fallback, which a
// later claim would send), between the 501 and that claim, for a campaign and for a test run, and
// a cancel while the campaign's claim holds the session (in_flight_until) or is given back unsent.
// Counted where WhatsApp sees it: the sandbox's record of requests and messages.
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cancelCampaign, pauseCampaign, resumeCampaign, startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { FakeClock, systemClock } from '../../src/core/clock.js';
import type { Context } from '../../src/core/context.js';
import { optOutContact, suppressContact } from '../../src/core/contacts/contact.service.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { addTestListMembers, createTestList } from '../../src/core/test-lists/test-list.service.js';
import { cancelTestRun, pauseTestRun, resumeTestRun, startTestRun } from '../../src/core/test-runs/index.js';
import { addTestUser } from '../../src/core/test-users/test-user.service.js';
import { createWahaClient, type SendOutcome } from '../../src/core/waha/index.js';
import { runWorker, type WorkerOptions, type WorkerPorts } from '../../src/core/worker/run-worker.js';
import type { MediaResolver } from '../../src/core/worker/send-recipient.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/index.js';
import { alwaysOpenSettings, BUTTONS_TEMPLATE, drcContact } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const clock = new FakeClock();
let t: TestDatabase;
let ctx: Context;
let seq = 0;
let session = '';
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  t = await createTestDatabase({ clock });
  ctx = t.ctx();
});
afterAll(async () => t?.drop());
beforeEach(async () => {
  clock.set(Date.now());
  session = `p5s${++seq}`;
  await updateSettings(ctx, { ...alwaysOpenSettings(), max_attempts: 3 });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  await sql`update campaigns set status = 'CANCELLED' where status in ('RUNNING', 'PAUSED')`.execute(t.db);
  await sql`update campaign_test_runs set status = 'CANCELLED' where status in ('RUNNING', 'PAUSED')`.execute(t.db);
});

/** A GOWS sandbox: buttons answer 501 there (WAHA's own behaviour), text is accepted. */
async function sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const s = await startSandbox({ port: 0, engine: 'GOWS', seed: 5000 + seq, sessions: [session], ackDelayMs: [1, 5], ...options });
  cleanups.push(() => s.close());
  return s;
}

async function runningCampaign(n: number, template: unknown = BUTTONS_TEMPLATE) {
  const brand = `p5brand${seq}`;
  const chats: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = drcContact(50_000_000 + seq * 100 + i, { name: `Person ${i}`, first_name: `Person${i}`, city: 'Kinshasa', source: 'store', store_id: 'GOM-12', brand });
    await t.db.insertInto('contacts').values(c).execute();
    chats.push(c.chat_id);
  }
  const { campaign } = await createCampaign(ctx, { name: `p5-${seq}`, brand, session, template });
  await approveCampaign(ctx, String(campaign.id));
  expect((await buildQueue(ctx, String(campaign.id))).queued).toBe(n);
  await startCampaign(ctx, String(campaign.id));
  return { id: campaign.id, chats };
}

/** A RUNNING test run of a DRAFT buttons campaign to `n` test users on this test's session. */
async function runningTestRun(n: number) {
  const names = Array.from({ length: n }, (_, i) => `Tester ${seq}-${i}`);
  for (const [i, name] of names.entries()) await addTestUser(ctx, { name, phone: `+2438150${String(seq * 100 + i).padStart(5, '0')}` });
  await createTestList(ctx, { name: `qa${seq}` });
  await addTestListMembers(ctx, `qa${seq}`, names);
  const { campaign } = await createCampaign(ctx, { name: `p5-draft-${seq}`, brand: `p5brand${seq}`, session, template: BUTTONS_TEMPLATE });
  const run = await startTestRun(ctx, String(campaign.id), `qa${seq}`);
  expect(run.testRun.status).toBe('RUNNING');
  return run.testRun.id;
}

const client = (s: Sandbox) => createWahaClient({ baseUrl: s.url, timeoutMs: 3000 });

function work(waha: WorkerPorts['waha'], options: Partial<WorkerOptions> = {}, resolveMedia: MediaResolver = async (p) => p, c: Context = ctx) {
  return runWorker(c, { waha, resolveMedia, rng: () => 0.5 }, { once: true, name: 'p5-worker', version: 'test', stop: new AbortController().signal, maintenanceMs: 0, ...options });
}

/** A WAHA port that runs `during` while the request for `endpoint` is at WAHA (before its answer comes back), once. */
function during(waha: WorkerPorts['waha'], endpoint: string, action: () => Promise<unknown>) {
  let done = false;
  return {
    async send(e: string, body: Record<string, unknown>): Promise<SendOutcome> {
      const outcome = await waha.send(e, body);
      if (e === endpoint && !done) {
        done = true;
        await action();
      }
      return outcome;
    },
  };
}

const queueRows = (id: number) => t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', id).orderBy('id').execute();
const testRows = (id: number) => t.db.selectFrom('campaign_test_run_recipients').selectAll().where('test_run_id', '=', id).orderBy('id').execute();
const sends = (s: Sandbox) => s.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/send')).map((r) => [r.path, r.status]);
const ours = (s: Sandbox) => s.messages.filter((m) => m.fromMe);

describe('promise 5 on the 501 → fallback path (campaign)', () => {
  it('promise 5: a pause committing while WAHA answers 501: the row waits for its fallback, which never leaves while paused; resume sends it once', async () => {
    const s = await sandbox();
    const c = await runningCampaign(2);
    const waha = client(s);
    const pausing = during(waha, '/api/sendButtons', () => pauseCampaign(ctx, String(c.id), 'copy check'));
    expect(await work(pausing)).toMatchObject({ sent: 0, retried: 1 });
    expect((await queueRows(c.id)).map((x) => [x.status, x.used_fallback])).toEqual([['PENDING', true], ['PENDING', false]]);
    // However many passes and workers: nothing leaves while paused.
    for (let i = 0; i < 3; i++) {
      clock.advance(60_000);
      expect(await work(waha, { name: `p5-other-${i}` })).toMatchObject({ sent: 0, retried: 0 });
    }
    expect(sends(s)).toEqual([['/api/sendButtons', 501]]);
    expect(ours(s)).toHaveLength(0);
    await resumeCampaign(ctx, String(c.id));
    expect(await work(waha)).toMatchObject({ sent: 2 });
    // The first row sends its fallback straight away (the row says so), the second learns the 501 itself.
    expect(sends(s)).toEqual([['/api/sendButtons', 501], ['/api/sendText', 201], ['/api/sendButtons', 501], ['/api/sendText', 201]]);
    expect(ours(s).map((m) => m.chatId).sort()).toEqual([...c.chats].sort());
  });

  it('promise 5: a pause committed between the 501 and the fallback\'s claim (another worker): the fallback never leaves', async () => {
    const s = await sandbox();
    const c = await runningCampaign(1);
    const waha = client(s);
    const stop = new AbortController();
    // The first worker stops after its 501 (SIGTERM during that request).
    const stopping = { send: async (e: string, b: Record<string, unknown>) => { stop.abort(); return waha.send(e, b); } };
    await work(stopping, { once: false, stop: stop.signal });
    expect((await queueRows(c.id))[0]).toMatchObject({ status: 'PENDING', used_fallback: true });
    await pauseCampaign(ctx, String(c.id));
    expect(await work(waha, { name: 'p5-next' })).toMatchObject({ sent: 0 });
    expect(sends(s)).toEqual([['/api/sendButtons', 501]]);
  });

  it('promise 5: a cancel committing while WAHA answers 501: the fallback never leaves', async () => {
    const s = await sandbox();
    const c = await runningCampaign(3);
    const waha = client(s);
    expect(await work(during(waha, '/api/sendButtons', () => cancelCampaign(ctx, String(c.id), 'wrong audience')))).toMatchObject({ sent: 0 });
    clock.advance(60_000);
    expect(await work(waha, { name: 'p5-after-cancel' })).toMatchObject({ sent: 0 });
    expect(sends(s)).toEqual([['/api/sendButtons', 501]]);
    expect(ours(s)).toHaveLength(0);
    expect((await queueRows(c.id)).slice(1).map((x) => [x.status, x.skip_reason])).toEqual([['SKIPPED', 'campaign cancelled'], ['SKIPPED', 'campaign cancelled']]);
  });

  // Found by this file: a row in flight when cancel commits is kept (it may reach WAHA), but when
  // its answer says nothing was sent (a 501 with a fallback, a 5xx to retry, a 422 session down, a
  // claim given back unsent) it used to go back to PENDING in the CANCELLED campaign or test run,
  // where nothing would ever claim or skip it. Fixed where the outcome is recorded
  // (record-outcome.ts, requeueState): back to PENDING only while the owner is not cancelled.
  const TEXT = { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' };
  for (const [what, template, endpoint, faults] of [
    ['WAHA answers 501 (its fallback would follow)', BUTTONS_TEMPLATE, '/api/sendButtons', {}],
    ['WAHA answers 500 (a retry would follow)', TEXT, '/api/sendText', { errorRate5xx: 1 }],
  ] as const) {
    it(`promise 5: a cancel committing while ${what}: the row that never left ends SKIPPED (campaign cancelled), not PENDING forever`, async () => {
      const s = await sandbox({ faults });
      const c = await runningCampaign(2, template);
      await work(during(client(s), endpoint, () => cancelCampaign(ctx, String(c.id))));
      expect(ours(s)).toHaveLength(0);
      expect((await queueRows(c.id)).map((x) => [x.status, x.skip_reason])).toEqual([['SKIPPED', 'campaign cancelled'], ['SKIPPED', 'campaign cancelled']]);
    });
  }
});

describe('promise 5 on the 501 → fallback path (test run)', () => {
  it('promise 5: a test run paused while WAHA answers 501: no fallback leaves until resume, then each tester gets one message', async () => {
    const s = await sandbox();
    const runId = await runningTestRun(2);
    const waha = client(s);
    await work(during(waha, '/api/sendButtons', () => pauseTestRun(ctx, String(runId), 'checking the copy')));
    expect((await testRows(runId)).map((x) => [x.status, x.used_fallback])).toEqual([['PENDING', true], ['PENDING', false]]);
    clock.advance(60_000);
    expect(await work(waha, { name: 'p5-other' })).toMatchObject({ sent: 0 });
    expect(sends(s)).toEqual([['/api/sendButtons', 501]]);
    await resumeTestRun(ctx, String(runId));
    expect(await work(waha)).toMatchObject({ sent: 2 });
    expect(ours(s)).toHaveLength(2);
    expect(new Set(ours(s).map((m) => m.endpoint))).toEqual(new Set(['/api/sendText']));
    expect((await testRows(runId)).every((x) => x.status === 'SENT_API_ACCEPTED' && x.used_fallback)).toBe(true);
  });

  it('promise 5: a test run cancelled while WAHA answers 501: no fallback ever leaves', async () => {
    const s = await sandbox();
    const runId = await runningTestRun(2);
    const waha = client(s);
    await work(during(waha, '/api/sendButtons', () => cancelTestRun(ctx, String(runId), 'wrong copy')));
    clock.advance(60_000);
    expect(await work(waha, { name: 'p5-other' })).toMatchObject({ sent: 0 });
    expect(sends(s)).toEqual([['/api/sendButtons', 501]]);
    expect(ours(s)).toHaveLength(0);
    expect((await testRows(runId))[1]).toMatchObject({ status: 'SKIPPED', skip_reason: 'test run cancelled' });
  });

  it('promise 5: a test run cancelled while WAHA answers 501: the row that never left ends SKIPPED, not PENDING in a cancelled run', async () => {
    const s = await sandbox();
    const runId = await runningTestRun(1);
    await work(during(client(s), '/api/sendButtons', () => cancelTestRun(ctx, String(runId))));
    expect((await testRows(runId))[0]).toMatchObject({ status: 'SKIPPED', skip_reason: 'test run cancelled' });
  });
});

describe('promise 5 while the session is held', () => {
  it('promise 5: a cancel commits at once while the campaign\'s request hangs at WAHA; nothing new starts, the request in flight is kept', async () => {
    const real = t.ctx({ clock: systemClock });
    const s = await sandbox();
    const c = await runningCampaign(3, { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' });
    const waha = client(s);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let atWaha!: () => void;
    const started = new Promise<void>((r) => (atWaha = r));
    const hanging = {
      async send(e: string, body: Record<string, unknown>): Promise<SendOutcome> {
        atWaha();
        await gate;
        return waha.send(e, body);
      },
    };
    const worker = work(hanging, { name: 'p5-held', heartbeatMs: 200 }, undefined, real);
    cleanups.push(async () => {
      release();
      await worker.catch(() => {});
    });
    await started;
    // The claim's hold was lifted as its request left (send-slot.ts); the request hangs at WAHA.
    const held = await t.db.selectFrom('session_pacing').select('in_flight_until').where('session', '=', session).executeTakeFirstOrThrow();
    expect(held.in_flight_until).toBeNull();
    // The hanging request does not make the operator wait.
    const before = Date.now();
    const cancelled = await cancelCampaign(real, String(c.id), 'stop now');
    expect(Date.now() - before).toBeLessThan(2000);
    expect(cancelled.status).toBe('CANCELLED');
    expect((await queueRows(c.id)).map((x) => x.status)).toEqual(['SENDING', 'SKIPPED', 'SKIPPED']);
    release();
    expect(await worker).toMatchObject({ sent: 1 });
    // The send that was in flight is kept and recorded; no other left; the hold was lifted.
    expect(ours(s)).toHaveLength(1);
    expect((await queueRows(c.id)).map((x) => x.status)).toEqual(['SENT_API_ACCEPTED', 'SKIPPED', 'SKIPPED']);
    const after = await t.db.selectFrom('session_pacing').select('in_flight_until').where('session', '=', session).executeTakeFirstOrThrow();
    expect(after.in_flight_until).toBeNull();
  });

  it('promise 5: a pause committing between a claim and its request: the request does not leave (the claim is given back unsent), and the row is not claimed again while paused', async () => {
    const s = await sandbox();
    const c = await runningCampaign(2, { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' });
    let first = true;
    const slow: MediaResolver = async (p) => {
      if (first) {
        first = false;
        await pauseCampaign(ctx, String(c.id));
      }
      return p;
    };
    expect(await work(client(s), {}, slow)).toMatchObject({ sent: 0, retried: 1 });
    clock.advance(60_000);
    expect(await work(client(s), { name: 'p5-other' })).toMatchObject({ sent: 0 });
    expect(sends(s)).toEqual([]);
    expect((await queueRows(c.id)).map((x) => [x.status, x.attempts])).toEqual([['PENDING', 0], ['PENDING', 0]]);
    await resumeCampaign(ctx, String(c.id));
    expect(await work(client(s))).toMatchObject({ sent: 2 });
    expect(ours(s).map((m) => m.chatId).sort()).toEqual([...c.chats].sort());
  });

  for (const block of ['opted_out', 'suppressed'] as const) {
    it(`promise 4: a number ${block === 'opted_out' ? 'opting out' : 'suppressed'} between a claim and its request: nothing leaves, the row ends SKIPPED (${block})`, async () => {
      const s = await sandbox();
      const c = await runningCampaign(1, { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' });
      const between: MediaResolver = async (p) => {
        const ref = `+${c.chats[0]!.split("@")[0]}`;
        if (block === 'opted_out') await optOutContact(ctx, ref);
        else await suppressContact(ctx, ref, 'asked by phone');
        return p;
      };
      await work(client(s), {}, between);
      expect(sends(s)).toEqual([]);
      expect((await queueRows(c.id))[0]).toMatchObject({ status: 'SKIPPED', skip_reason: block });
    });
  }

  it('promise 5: a cancel committing between a claim and its request: nothing leaves, and the row given back unsent ends SKIPPED, not PENDING in a cancelled campaign', async () => {
    const s = await sandbox();
    const c = await runningCampaign(1, { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' });
    const slow: MediaResolver = async (p) => {
      await cancelCampaign(ctx, String(c.id));
      return p;
    };
    await work(client(s), {}, slow);
    expect(sends(s)).toEqual([]);
    expect((await queueRows(c.id))[0]).toMatchObject({ status: 'SKIPPED', skip_reason: 'campaign cancelled' });
  });
});
