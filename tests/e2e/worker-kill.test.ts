// promise 2 with real processes: `kill -9` a `campaign worker` mid-send, 20 times, at different
// points of the send (the request reached WAHA and the answer had not come back; the request never
// reached WAHA; a random instant). Then one more worker recovers the abandoned rows as UNKNOWN,
// reconciles those WAHA did receive from WAHA's chat history, and leaves the rest UNKNOWN until an
// operator says `campaign resolve --resend`, after which each goes exactly once.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { Context } from '../../src/core/context.js';
import { seededRandom } from '../../src/core/pacing/index.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { killSpawned, sleep, spawnCli, type Spawned, until } from '../helpers/processes.js';
import { cleanEnv, type CliResult, tempDir } from '../helpers/run-cli.js';
import { alwaysOpenSettings, seedContacts, startedCampaign } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const QUEUED = 60;
const KILLS = 20;
const FINAL_STATES = ['SENT_API_ACCEPTED', 'DELIVERED', 'READ', 'FAILED', 'SKIPPED'];

let t: TestDatabase;
let ctx: Context;
let s: Sandbox;
let dir: string;
let campaignId: number;
/** A "WAHA" that takes the request and never answers: what the worker sends there never reached the real one. */
let hole: { url: string; got: number; close(): Promise<void> };

function spawnWorker(args: string[], wahaUrl: string): Spawned {
  return spawnCli(args, { cwd: dir, env: cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir, WAHA_BASE_URL: wahaUrl, CAMPAIGN_ACTOR: 'kill-test' }) });
}

async function cli(args: string[], wahaUrl: string, timeoutMs = 40_000): Promise<CliResult> {
  const w = spawnWorker(args, wahaUrl);
  const timer = setTimeout(() => w.child.kill('SIGKILL'), timeoutMs);
  try {
    return await w.done;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls every 2 ms: a kill must land while the send is still in flight. */
const poll = (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) => until(check, timeoutMs, what, 2);

const sendPosts = () => s.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/send')).length;

function expectNoChatTwice(): void {
  const chats = s.messages.filter((m) => m.fromMe).map((m) => m.chatId);
  expect(chats.length, `a chat got two messages: ${chats.filter((c, i) => chats.indexOf(c) !== i).join(', ')}`).toBe(new Set(chats).size);
}

async function queueRows() {
  return t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', campaignId).orderBy('id').execute();
}

beforeAll(async () => {
  t = await createTestDatabase();
  ctx = t.ctx({ clock: systemClock });
  // Sends take 100–300 ms, so a kill lands mid-send.
  s = await startSandbox({ port: 0, seed: 23, faults: { latencyMs: [100, 300] } });
  const held = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // Reads (chat history, session status) get an empty answer: no proof of anything.
      if (req.method !== 'POST') return void res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
      hole.got++;
      held.add(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hole = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    got: 0,
    close: () => {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
  dir = tempDir('campaign-kill-');
  await updateSettings(ctx, alwaysOpenSettings());
  await seedContacts(t.db, { count: QUEUED, first: 40_000_000, crmPrefix: 'kill', label: 'Target', city: 'Bukavu', storeId: 'BKV-1', brand: 'lifebuoy' });
  const c = await startedCampaign(ctx, { name: 'Kill', brand: 'lifebuoy' });
  campaignId = c.id;
  expect(c.queued).toBe(QUEUED);
});

afterAll(async () => {
  killSpawned();
  await hole?.close();
  await s?.close();
  await t?.drop();
});

describe('kill -9 mid-send', () => {
  it('promise 2: kill -9 mid-send, 20 times — no duplicate; every row ends final or UNKNOWN; reconciliation resolves those WAHA did receive', async () => {
    const seed = Math.floor(Math.random() * 1e9);
    const rng = seededRandom(seed);
    const modes: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const mode = (['arrived', 'never-arrived', 'random', 'after-claim'] as const)[i % 4]!;
      modes.push(mode);
      const name = `doomed-${i}`;
      const args = ['worker', '--name', name, '--timeout-ms', '5000', '--heartbeat-ms', '200'];
      if (mode === 'arrived') {
        // The request reached WAHA; WAHA answers 100–300 ms later, to nobody.
        const before = sendPosts();
        const w = spawnWorker(args, s.url);
        await poll(() => sendPosts() > before, 20_000, `${name}'s first send`);
        w.child.kill('SIGKILL');
        await w.done;
      } else if (mode === 'never-arrived') {
        const before = hole.got;
        const w = spawnWorker(args, hole.url);
        await poll(() => hole.got > before, 20_000, `${name}'s first send`);
        w.child.kill('SIGKILL');
        await w.done;
      } else if (mode === 'random') {
        const w = spawnWorker(args, s.url);
        await sleep(50 + Math.floor(rng() * 350));
        w.child.kill('SIGKILL');
        await w.done;
      } else {
        const w = spawnWorker(args, s.url);
        await poll(async () => Boolean(await t.db.selectFrom('send_queue').select('id').where('claimed_by', '=', name).executeTakeFirst()), 20_000, `${name}'s first claim`);
        await sleep(Math.floor(rng() * 400));
        w.child.kill('SIGKILL');
        await w.done;
      }
    }
    // Let the sandbox finish the requests the dead workers left behind, and their heartbeats go stale.
    await sleep(1000);
    s.setFaults({ latencyMs: 0 });
    // Each later doomed worker already recovered its predecessors' rows; the survivor gets the rest.
    const abandoned = (await queueRows()).filter((r) => r.status === 'SENDING').length;
    const recoveredEarlier = await sql<{ n: number }>`select count(*)::int as n from worker_events where event = 'unknown_outcome'`.execute(t.db);
    expect(abandoned + recoveredEarlier.rows[0]!.n, 'every kill after the request left leaves a SENDING row').toBeGreaterThanOrEqual(10);
    expectNoChatTwice();

    const final = await cli(['worker', '--once', '--name', 'survivor', '--timeout-ms', '2000', '--heartbeat-ms', '100'], s.url);
    expect(final.code, final.stderr).toBe(0);
    expectNoChatTwice();
    let rows = await queueRows();
    for (const r of rows) expect([...FINAL_STATES, 'UNKNOWN'], `row ${r.id}`).toContain(r.status);
    const atSandbox = new Map(s.messages.filter((m) => m.fromMe).map((m) => [m.chatId, m]));
    for (const r of rows) {
      const m = atSandbox.get(r.chat_id);
      if (r.status === 'UNKNOWN') {
        // Only what WAHA never received stays UNKNOWN.
        expect(m, `UNKNOWN row ${r.id} was received by WAHA but not reconciled`).toBeUndefined();
      } else {
        expect(r.status).toBe('SENT_API_ACCEPTED');
        expect(r.waha_message_id, `row ${r.id}`).toBe(m?.messageId);
      }
    }
    expect(atSandbox.size).toBe(rows.filter((r) => r.status === 'SENT_API_ACCEPTED').length);
    const recovered = await sql<{ n: number }>`select count(*)::int as n from worker_events where event = 'unknown_outcome' and worker = 'survivor'`.execute(t.db);
    expect(recovered.rows[0]!.n).toBe(abandoned);
    const reconciled = await sql<{ n: number; reason: string }>`select count(*)::int as n, min(reason) as reason from worker_events where event = 'reconciled'`.execute(t.db);
    // Each 'arrived' kill left a row WAHA received: each is proven sent from WAHA's chat history.
    expect(reconciled.rows[0]!.n).toBeGreaterThanOrEqual(modes.filter((m) => m === 'arrived').length);
    expect(reconciled.rows[0]!.reason).toMatch(/chat history/);
    const stillUnknown = rows.filter((r) => r.status === 'UNKNOWN');
    // Each 'never-arrived' kill left a row WAHA never got: it must wait for the operator.
    expect(stillUnknown.length).toBeGreaterThanOrEqual(modes.filter((m) => m === 'never-arrived').length);
    const postsBeforeResolve = sendPosts();

    // A second worker does not re-send them on its own.
    const again = await cli(['worker', '--once', '--name', 'survivor-2', '--timeout-ms', '2000', '--heartbeat-ms', '100'], s.url);
    expect(again.code, again.stderr).toBe(0);
    expect(sendPosts()).toBe(postsBeforeResolve);

    const resolve = await cli(['resolve', String(campaignId), '--resend', '--json'], s.url);
    expect(resolve.code, resolve.stderr).toBe(0);
    expect(resolve.json).toMatchObject({ campaignId, decision: 'resend', queueRows: stillUnknown.length });
    const last = await cli(['worker', '--once', '--name', 'resender', '--timeout-ms', '2000', '--heartbeat-ms', '100'], s.url);
    expect(last.code, last.stderr).toBe(0);
    expect(sendPosts()).toBe(postsBeforeResolve + stillUnknown.length);
    expectNoChatTwice();
    rows = await queueRows();
    expect(rows.every((r) => r.status === 'SENT_API_ACCEPTED')).toBe(true);
    expect(s.messages.filter((m) => m.fromMe)).toHaveLength(QUEUED);
    const c = await t.db.selectFrom('campaigns').select('status').where('id', '=', campaignId).executeTakeFirstOrThrow();
    expect(c.status).toBe('COMPLETED');
    console.log(`kill seed ${seed}: ${abandoned + recoveredEarlier.rows[0]!.n} abandoned mid-send, ${reconciled.rows[0]!.n} reconciled, ${stillUnknown.length} resent by the operator`);
  });
});
