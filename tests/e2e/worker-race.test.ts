// promise 1 & 2 with real processes: four `campaign worker` processes (the built CLI) share one
// session on real Postgres against the WAHA sandbox over HTTP. The claim transaction, not any
// process, must keep the hourly limit and "one message per chat" however the workers interleave.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { Context } from '../../src/core/context.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { killSpawned, sleep, spawnCli as spawnIn, type Spawned, within } from '../helpers/processes.js';
import { cleanEnv, tempDir } from '../helpers/run-cli.js';
import { alwaysOpenSettings, seedContacts, startedCampaign } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const QUEUED = 200;
const HOURLY = 60;

let t: TestDatabase;
let ctx: Context;
let s: Sandbox;
let dir: string;
let env: NodeJS.ProcessEnv;
let campaignId: number;

function spawnCli(args: string[]): Spawned {
  return spawnIn(args, { cwd: dir, env });
}

async function sandboxMessages(): Promise<Array<{ chatId: string; messageId: string; session: string }>> {
  const r = await fetch(`${s.url}/_sandbox/messages`);
  return (await r.json()) as Array<{ chatId: string; messageId: string; session: string }>;
}

async function count(query: ReturnType<typeof sql<{ n: number }>>): Promise<number> {
  return Number((await query.execute(t.db)).rows[0]!.n);
}

beforeAll(async () => {
  t = await createTestDatabase();
  ctx = t.ctx({ clock: systemClock });
  // Tiny latency so sends overlap and the workers really contend for the session lock.
  s = await startSandbox({ port: 0, seed: 11, faults: { latencyMs: [5, 25] } });
  dir = tempDir('campaign-race-');
  env = cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir, WAHA_BASE_URL: s.url, CAMPAIGN_ACTOR: 'race-test' });
  await updateSettings(ctx, { ...alwaysOpenSettings(), daily_limit: 100, hourly_limit: HOURLY });
  await seedContacts(t.db, { count: QUEUED, first: 30_000_000, crmPrefix: 'race', label: 'Racer', city: 'Goma', storeId: 'GOM-1', brand: 'vaseline' });
  const c = await startedCampaign(ctx, { name: 'Race', brand: 'vaseline' });
  campaignId = c.id;
  expect(c.queued).toBe(QUEUED);
});

afterAll(async () => {
  killSpawned();
  await s?.close();
  await t?.drop();
});

describe('campaign worker ×4 on one session', () => {
  it('promise 1 & 2: four worker processes on one session never exceed the hourly limit and never message a chat twice', async () => {
    const workers = [1, 2, 3, 4].map((n) => spawnCli(['worker', '--once', '--name', `race-${n}`, '--timeout-ms', '5000', '--heartbeat-ms', '500']));
    const results = await within(Promise.all(workers.map((w) => w.done)), 50_000, 'four --once workers');
    for (const r of results) expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);

    const messages = await sandboxMessages();
    const chats = messages.map((m) => m.chatId);
    expect(new Set(chats).size, 'a chat got two messages').toBe(chats.length);
    expect(messages.length).toBeLessThanOrEqual(HOURLY);
    // …and the limit is used, not under-sent: each --once worker stops only when the hour is full.
    expect(messages.length).toBe(HOURLY);
    expect(await count(sql<{ n: number }>`select count(*) as n from session_sends where session = 'default'`)).toBe(messages.length);

    const states = await sql<{ status: string; n: number }>`select status, count(*)::int as n from send_queue where campaign_id = ${campaignId} group by status order by status`.execute(t.db);
    expect(Object.fromEntries(states.rows.map((r) => [r.status, r.n]))).toEqual({ PENDING: QUEUED - HOURLY, SENT_API_ACCEPTED: HOURLY });
    // Every row the database calls sent is the message the sandbox holds for that chat.
    const sent = await t.db.selectFrom('send_queue').select(['chat_id', 'waha_message_id', 'attempts']).where('status', '=', 'SENT_API_ACCEPTED').execute();
    const byChat = new Map(messages.map((m) => [m.chatId, m.messageId]));
    for (const r of sent) {
      expect(r.waha_message_id).toBe(byChat.get(r.chat_id));
      expect(r.attempts).toBe(1);
    }
    const claims = await sql<{ worker: string; n: number }>`select worker, count(*)::int as n from worker_events where event = 'claim' group by worker`.execute(t.db);
    expect(claims.rows.reduce((a, r) => a + r.n, 0)).toBe(HOURLY);
    expect(await count(sql<{ n: number }>`select count(*) as n from worker_events where event = 'hourly_limit'`)).toBeGreaterThanOrEqual(1);
    const beats = await t.db.selectFrom('worker_heartbeats').select(['name', 'state']).orderBy('name').execute();
    expect(beats).toEqual([1, 2, 3, 4].map((n) => ({ name: `race-${n}`, state: 'stopped' })));
    console.log(`claims per worker: ${claims.rows.map((r) => `${r.worker}=${r.n}`).join(' ')}`);

    // "Why is nothing sending?" is answered from the database, by any process.
    const running = await within(spawnCli(['running', '--json']).done, 20_000, 'campaign running');
    expect(running.code, running.stderr).toBe(0);
    const item = running.json.items.find((i: { id: number; kind: string }) => i.kind === 'campaign' && i.id === campaignId);
    expect(item.latest).toMatchObject({ event: 'hourly_limit' });
    expect(Date.parse(item.latest.nextAttemptAt)).toBeGreaterThan(Date.now());
  });

  it('promise 1 & 2: long-running workers stopped by SIGTERM finish the send in flight, exit 0, and still keep the daily limit', async () => {
    // The rolling hour is full (60); raising it leaves the daily limit (100) as the binding rule: 40 more.
    await updateSettings(ctx, { hourly_limit: 100 });
    s.setFaults({ latencyMs: [30, 80] });
    const workers = [1, 2, 3, 4].map((n) => spawnCli(['worker', '--name', `long-${n}`, '--timeout-ms', '5000', '--heartbeat-ms', '300']));
    // Stop them mid-run if they are still sending, or once they sit blocked on the daily limit.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await sandboxMessages()).length < HOURLY + 20) await sleep(50);
    for (const w of workers) w.child.kill('SIGTERM');
    const results = await within(Promise.all(workers.map((w) => w.done)), 20_000, 'workers after SIGTERM');
    for (const r of results) expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);

    const messages = await sandboxMessages();
    const chats = messages.map((m) => m.chatId);
    expect(new Set(chats).size, 'a chat got two messages').toBe(chats.length);
    expect(messages.length).toBeGreaterThan(HOURLY);
    expect(messages.length).toBeLessThanOrEqual(100);
    expect(await count(sql<{ n: number }>`select count(*) as n from session_sends where session = 'default'`)).toBe(messages.length);
    // The first SIGTERM lets the send in flight finish and be recorded: nothing is left SENDING or UNKNOWN.
    const open = await count(sql<{ n: number }>`select count(*) as n from send_queue where status not in ('PENDING', 'SENT_API_ACCEPTED')`);
    expect(open).toBe(0);
    expect(await count(sql<{ n: number }>`select count(*) as n from send_queue where status = 'SENT_API_ACCEPTED'`)).toBe(messages.length);
    const beats = await t.db.selectFrom('worker_heartbeats').select(['name', 'state']).where('name', 'like', 'long-%').execute();
    expect(beats.map((b) => b.state)).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
  });
  it('promise 5: four running workers — once `campaign pause` (then `cancel`) returns, no new send starts', async () => {
    await updateSettings(ctx, { daily_limit: 5000, hourly_limit: 5000 });
    s.setFaults({ latencyMs: [20, 60] });
    await seedContacts(t.db, { count: 150, first: 31_000_000, crmPrefix: 'pause', label: 'P', city: 'Goma', storeId: 'GOM-1', brand: 'pepsodent' });
    // The first campaign is done with for this test: only the new one is running.
    await sql`update campaigns set status = 'CANCELLED' where id = ${campaignId}`.execute(t.db);
    const { id } = await startedCampaign(ctx, { name: 'Pause race', brand: 'pepsodent' });
    const left = async () =>
      (await t.db.selectFrom('send_queue').select('id').where('campaign_id', '=', id).where('status', 'not in', ['PENDING', 'SKIPPED']).execute()).map((r) => r.id).sort((a, b) => a - b);
    const chatsOf = async () => new Set((await sandboxMessages()).map((m) => m.chatId));
    const before = await chatsOf();
    const workers = [1, 2, 3, 4].map((n) => spawnCli(['worker', '--name', `ctl-${n}`, '--timeout-ms', '5000', '--heartbeat-ms', '300']));
    const settle = async (what: string) => {
      const snapshot = await left();
      // Workers keep running; whatever they do now, no further row may leave PENDING.
      await sleep(1500);
      expect(await left(), what).toEqual(snapshot);
      return snapshot;
    };
    try {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await left()).length < 15) await sleep(20);
      const pause = await within(spawnCli(['pause', String(id), '--reason', 'race test', '--json']).done, 20_000, 'campaign pause');
      expect(pause.code, pause.stderr).toBe(0);
      const afterPause = await settle('a row was claimed after the pause committed');

      const resume = await within(spawnCli(['resume', String(id), '--json']).done, 20_000, 'campaign resume');
      expect(resume.code, resume.stderr).toBe(0);
      const deadline2 = Date.now() + 30_000;
      while (Date.now() < deadline2 && (await left()).length < afterPause.length + 15) await sleep(20);
      const cancel = await within(spawnCli(['cancel', String(id), '--reason', 'race test', '--json']).done, 20_000, 'campaign cancel');
      expect(cancel.code, cancel.stderr).toBe(0);
      const afterCancel = await settle('a row was claimed after the cancel committed');
      expect(afterCancel.length).toBeGreaterThan(afterPause.length);
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
    }
    const results = await within(Promise.all(workers.map((w) => w.done)), 20_000, 'workers after SIGTERM');
    for (const r of results) expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
    const rows = await t.db.selectFrom('send_queue').select(['status', 'chat_id']).where('campaign_id', '=', id).execute();
    // The sends in flight at the cancel finished and were recorded; everything else was skipped.
    expect(rows.filter((r) => !['SENT_API_ACCEPTED', 'SKIPPED'].includes(r.status))).toEqual([]);
    const sentChats = new Set(rows.filter((r) => r.status === 'SENT_API_ACCEPTED').map((r) => r.chat_id));
    const newChats = [...(await chatsOf())].filter((c) => !before.has(c));
    expect(newChats.sort()).toEqual([...sentChats].sort());
    const messages = await sandboxMessages();
    expect(new Set(messages.map((m) => m.chatId)).size, 'a chat got two messages').toBe(messages.length);
    expect((await t.db.selectFrom('campaigns').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('CANCELLED');
  });
  it('a second SIGTERM stops a worker at once, mid-send; the row is left SENDING for reconciliation, never re-sent', async () => {
    await updateSettings(ctx, { daily_limit: 5000, hourly_limit: 5000 });
    // A send that takes 8 s: the first SIGTERM waits for it, the second does not.
    s.setFaults({ latencyMs: 8000 });
    await seedContacts(t.db, { count: 3, first: 32_000_000, crmPrefix: 'sig', label: 'S', city: 'Goma', storeId: 'GOM-1', brand: 'signal' });
    await sql`update campaigns set status = 'CANCELLED' where status in ('RUNNING', 'PAUSED')`.execute(t.db);
    const campaign = await startedCampaign(ctx, { name: 'Signals', brand: 'signal', text: 'Hi' });
    const w = spawnCli(['worker', '--name', 'sig-1', '--timeout-ms', '30000', '--heartbeat-ms', '300']);
    const sending = async () => (await t.db.selectFrom('send_queue').select('id').where('campaign_id', '=', campaign.id).where('status', '=', 'SENDING').execute()).length;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await sending()) === 0) await sleep(50);
    expect(await sending()).toBe(1);
    w.child.kill('SIGTERM');
    await sleep(500);
    expect(w.child.exitCode, 'the first SIGTERM waits for the send in flight').toBeNull();
    expect(w.child.signalCode, 'the first SIGTERM is handled, not fatal').toBeNull();
    const stoppedAt = Date.now();
    w.child.kill('SIGTERM');
    const r = await within(w.done, 5000, 'worker after the second SIGTERM');
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(r.code).toBe(143);
    expect(r.stderr).toContain('again');
    // Not re-sent by anyone: the row stays SENDING until recovery marks it UNKNOWN.
    expect(await sending()).toBe(1);
    s.setFaults({ latencyMs: 0 });
  });
});
