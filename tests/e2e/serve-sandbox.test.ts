// End to end over real HTTP, three built processes: `campaign sandbox` posts WAHA webhooks (HMAC
// signed, every event delivered twice by the duplicate-webhook fault) to `campaign serve` while
// `campaign worker` sends through the sandbox. Rows must reach DELIVERED and READ from the
// sandbox's acks, every event must be stored exactly once (promise 6), an inbound STOP must opt
// the contact out and nothing more is sent to it (promise 4), and SIGTERM must stop the server
// cleanly (exit 0). The sandbox is driven only through its HTTP control API (/_sandbox/*).
import { type ChildProcess, spawn } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { systemClock } from '../../src/core/clock.js';
import type { Context } from '../../src/core/context.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { BIN, cleanEnv, runCli, tempDir } from '../helpers/run-cli.js';
import { createTestDatabase, type TestDatabase, urlFor } from '../helpers/test-database.js';

const TOKEN = 'e2e-dashboard-token-0123456789';
const HMAC = 'e2e-hmac-key';
const N = 4;

let t: TestDatabase;
let ctx: Context;
let serve: ChildProcess | undefined;
let serveOut = '';
let serveErr = '';
let sandbox: ChildProcess | undefined;
let sandboxOut = '';
let sandboxErr = '';
const home = tempDir('campaign-serve-e2e-');

function env(extra: Record<string, string> = {}) {
  return cleanEnv({ DATABASE_URL: urlFor(t.name), CAMPAIGN_HOME: home, DASHBOARD_API_TOKEN: TOKEN, WEBHOOK_HMAC_KEY: HMAC, CAMPAIGN_LOG: 'warn', ...extra });
}

/** A zone whose local time now is far from the 23:59–00:00 gap of an "always open" window. */
function openZone(at: Date): string {
  const h = at.getUTCHours();
  return h >= 1 && h <= 22 ? 'UTC' : 'Etc/GMT+12';
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nserve stdout: ${serveOut}\nserve stderr: ${serveErr}\nsandbox stdout: ${sandboxOut}\nsandbox stderr: ${sandboxErr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface SandboxWebhook { envelopeId: string; event: string; status?: number }
interface SandboxSend { chatId: string; rawId: string }

/** The sandbox's control API (`campaign sandbox` prints it when it starts). */
async function control<T>(url: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** Every envelope delivered exactly twice (the duplicate fault), each answered 200. */
function deliveredTwice(attempts: SandboxWebhook[]): boolean {
  const n = new Map<string, number>();
  for (const a of attempts) n.set(a.envelopeId, (n.get(a.envelopeId) ?? 0) + 1);
  return attempts.every((a) => a.status === 200) && [...n.values()].every((c) => c === 2);
}

beforeAll(async () => {
  t = await createTestDatabase({ clock: systemClock });
  ctx = t.ctx();
});

afterAll(async () => {
  if (serve && serve.exitCode === null) serve.kill('SIGKILL');
  if (sandbox && sandbox.exitCode === null) sandbox.kill('SIGTERM');
  await t?.drop();
});

describe('campaign serve + sandbox + worker over real HTTP', () => {
  it('acks move rows to READ, duplicates change nothing, STOP opts out, SIGTERM exits 0', async () => {
    await updateSettings(ctx, {
      daily_limit: 1000, hourly_limit: 1000, delay_min_seconds: 0, delay_max_seconds: 0, pause_after_sends: 1000, pause_min_minutes: 0, pause_max_minutes: 0,
      sending_window_start: '00:00', sending_window_end: '23:59', sending_days: [1, 2, 3, 4, 5, 6, 7], timezone: openZone(new Date()), poll_interval_seconds: 1,
    });
    const chats: string[] = [];
    for (let i = 0; i < N; i++) {
      const chat = `24382000000${i}@c.us`;
      chats.push(chat);
      await t.db.insertInto('contacts').values({ crm_id: `e2e-${i}`, name: `P${i}`, first_name: `P${i}`, phone_raw: `+${chat.split('@')[0]}`, chat_id: chat, phone_valid: true, brand: 'e2e', registered_brands: ['e2e'] }).execute();
    }
    const { campaign } = await createCampaign(ctx, { name: 'e2e serve', brand: 'e2e', template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } });
    await approveCampaign(ctx, String(campaign.id));
    await buildQueue(ctx, String(campaign.id));
    await startCampaign(ctx, String(campaign.id));

    // 1. The server, on a free port; its start line says where WAHA must post.
    serve = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json'], { cwd: home, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    serve.stdout!.on('data', (d) => (serveOut += d));
    serve.stderr!.on('data', (d) => (serveErr += d));
    const started = await waitFor('serve to start', () => {
      const line = serveOut.split('\n').find((l) => l.includes('"started"'));
      return line ? (JSON.parse(line).started as { url: string; webhookUrl: string; webhookAuth: string }) : undefined;
    });
    expect(started.webhookAuth).toBe('hmac');
    expect(started.webhookUrl).toMatch(/\/api\/webhooks\/waha$/);
    expect((await fetch(`${started.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${started.url}/api/overview`)).status).toBe(401);

    // 2. The built sandbox posts signed webhooks there, each one twice (duplicate-webhook fault).
    sandbox = spawn(
      process.execPath,
      [BIN, 'sandbox', '--port', '0', '--json', '--webhook-url', started.webhookUrl, '--hmac-key', HMAC, '--faults', 'duplicateWebhookRate=1', '--seed', '42', '--ack-delay-ms', '20-80'],
      { cwd: home, env: cleanEnv({ CAMPAIGN_HOME: home, CAMPAIGN_LOG: 'warn' }), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    sandbox.stdout!.on('data', (d) => (sandboxOut += d));
    sandbox.stderr!.on('data', (d) => (sandboxErr += d));
    const sb = await waitFor('the sandbox to start', () => {
      const line = sandboxOut.split('\n').find((l) => l.includes('"started"'));
      return line ? (JSON.parse(line) as { url: string; webhookUrl: string; faults: Record<string, unknown> }) : undefined;
    });
    expect(sb.webhookUrl).toBe(started.webhookUrl);
    expect(sb.faults).toEqual({ duplicateWebhookRate: 1 });
    const webhooks = () => control<SandboxWebhook[]>(sb.url, 'GET', '/_sandbox/webhooks');

    // 3. The worker sends everything once and stops.
    const worker = await runCli(['worker', '--once', '--json', '--name', 'e2e-worker'], { env: env({ WAHA_BASE_URL: sb.url }), cwd: home, timeoutMs: 60_000 });
    expect(worker.code, worker.stderr).toBe(0);
    const sent = await control<SandboxSend[]>(sb.url, 'GET', '/_sandbox/messages');
    expect(sent).toHaveLength(N);
    expect(new Set(sent.map((m) => m.chatId))).toEqual(new Set(chats));

    // 4. Acks arrive over HTTP; every row passes DELIVERED and ends READ.
    const rows = await waitFor('rows to reach READ', async () => {
      const r = await t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', campaign.id).execute();
      return r.length === N && r.every((x) => x.status === 'READ') ? r : undefined;
    });
    expect(rows.every((r) => r.delivered_at !== null && r.read_at !== null && r.delivered_at <= r.read_at)).toBe(true);
    expect(new Set(rows.map((r) => r.waha_raw_id))).toEqual(new Set(sent.map((m) => m.rawId)));

    // 5. Every delivery was answered 2xx; each envelope is stored exactly once although it came
    //    twice. Per send: message.any, then SERVER, DEVICE and READ acks: 4 envelopes, 8 POSTs.
    const attempts = await waitFor('every webhook to be delivered twice', async () => {
      const a = await webhooks();
      return a.length === N * 4 * 2 && deliveredTwice(a) ? a : undefined;
    });
    const envelopeIds = new Set(attempts.map((a) => a.envelopeId));
    expect(envelopeIds.size).toBe(N * 4);
    const stored = await sql<{ n: number; distinct_ids: number }>`select count(*)::int as n, count(distinct event_id)::int as distinct_ids from message_events`.execute(t.db);
    expect(stored.rows[0]).toEqual({ n: envelopeIds.size, distinct_ids: envelopeIds.size });
    const unmatched = await sql<{ n: number }>`select count(*)::int as n from message_events where event in ('message.ack','message.any') and not matched`.execute(t.db);
    expect(unmatched.rows[0]!.n).toBe(0);

    // 6. An inbound STOP through the same path opts the contact out; nothing more is sent to it.
    const { campaign: second } = await createCampaign(ctx, { name: 'e2e serve again', brand: 'e2e', template: { mode: 'simple', type: 'text', text: 'Again {{first_name}}' } });
    await approveCampaign(ctx, String(second.id));
    await buildQueue(ctx, String(second.id));
    await startCampaign(ctx, String(second.id));
    await control(sb.url, 'POST', '/_sandbox/inbound', { from: chats[0]!, text: 'STOP' });
    const contact = await waitFor('the opt-out', async () => {
      const c = await t.db.selectFrom('contacts').selectAll().where('chat_id', '=', chats[0]!).executeTakeFirstOrThrow();
      return c.opted_out ? c : undefined;
    });
    expect(contact.opted_out_source).toBe('keyword');
    const replies = await t.db.selectFrom('replies').selectAll().execute();
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ kind: 'opt_out', campaign_id: campaign.id });
    const again = await runCli(['worker', '--once', '--json', '--name', 'e2e-worker-2'], { env: env({ WAHA_BASE_URL: sb.url }), cwd: home, timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    const after = await control<SandboxSend[]>(sb.url, 'GET', '/_sandbox/messages');
    expect(after).toHaveLength(N + N - 1);
    expect(after.filter((m) => m.chatId === chats[0])).toHaveLength(1);
    const stopped = await t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', second.id).where('chat_id', '=', chats[0]!).executeTakeFirstOrThrow();
    expect(stopped.status).toBe('SKIPPED');
    // The inbound message and the second campaign's events were stored once each too.
    await waitFor('the new webhooks to be delivered twice', async () => {
      const a = await webhooks();
      // The inbound STOP comes as `message` and `message.any` (the sandbox's starting webhook
      // subscribes to both, as many hand-made set-ups do); the receiver acts on it once.
      return a.length === (N * 4 + 2 + (N - 1) * 4) * 2 && deliveredTwice(a) ? a : undefined;
    });

    // 7. The dashboard's API sees it all.
    const overview = await fetch(`${started.url}/api/running`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(overview.status).toBe(200);

    // 8. Graceful stop.
    const exited = new Promise<number | null>((resolve) => serve!.once('exit', (code) => resolve(code)));
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
    const sandboxExited = new Promise<number | null>((resolve) => sandbox!.once('exit', (code) => resolve(code)));
    sandbox.kill('SIGTERM');
    expect(await sandboxExited).toBe(0);
  }, 120_000);

  it('refuses to start without DASHBOARD_API_TOKEN (exit 6)', async () => {
    const r = await runCli(['serve', '--port', '0', '--json'], { env: env({ DASHBOARD_API_TOKEN: '' }), cwd: home, timeoutMs: 30_000 });
    expect(r.code).toBe(6);
    expect(r.json.error.code).toBe('CONFIG_MISSING');
    expect(r.json.error.message).toMatch(/DASHBOARD_API_TOKEN/);
  });

  it('a --host that is not this machine is a usage error naming --host, not a database error', async () => {
    const r = await runCli(['serve', '--port', '0', '--host', 'no-such-host.invalid', '--json'], { env: env({ DASHBOARD_API_TOKEN: 'tok' }), cwd: home, timeoutMs: 30_000 });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
    expect(r.json.error.message).toContain('--host no-such-host.invalid is not an address of this machine');
  });
});
