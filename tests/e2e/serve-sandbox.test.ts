// End to end over real HTTP: the built `campaign serve` takes WAHA webhooks from the sandbox (HMAC
// signed, every event delivered twice by the duplicate-webhook fault) while the built
// `campaign worker` sends through the same sandbox. Rows must reach READ from the sandbox's
// acks, every event must be stored exactly once (promise 6), an inbound STOP must opt the contact
// out, and SIGTERM must stop the server cleanly (exit 0).
import { type ChildProcess, spawn } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { systemClock } from '../../src/core/clock.js';
import type { Context } from '../../src/core/context.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
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
let sandbox: Sandbox | undefined;
const home = tempDir('campaign-serve-e2e-');

function env(extra: Record<string, string> = {}) {
  return cleanEnv({ DATABASE_URL: urlFor(t.name), CAMPAIGN_HOME: home, DASHBOARD_API_TOKEN: TOKEN, WEBHOOK_HMAC_KEY: HMAC, CAMPAIGN_LOG: 'warn', ...extra });
}

/** A zone whose local time now is far from the 23:59–00:00 gap of an "always open" window. */
function openZone(at: Date): string {
  const h = at.getUTCHours();
  return h >= 1 && h <= 22 ? 'UTC' : 'Etc/GMT+12';
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nserve stdout: ${serveOut}\nserve stderr: ${serveErr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  t = await createTestDatabase({ clock: systemClock });
  ctx = t.ctx();
});

afterAll(async () => {
  if (serve && serve.exitCode === null) serve.kill('SIGKILL');
  await sandbox?.close();
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

    // 2. The sandbox posts signed webhooks there, each one twice (duplicate-webhook fault).
    sandbox = await startSandbox({ port: 0, seed: 42, webhookUrl: started.webhookUrl, hmacKey: HMAC, ackDelayMs: [20, 80], webhookRetryDelayMs: 200, faults: { duplicateWebhookRate: 1 } });

    // 3. The worker sends everything once and stops.
    const worker = await runCli(['worker', '--once', '--json', '--name', 'e2e-worker'], { env: env({ WAHA_BASE_URL: sandbox.url }), cwd: home, timeoutMs: 60_000 });
    expect(worker.code, worker.stderr).toBe(0);
    expect(sandbox.messages.filter((m) => m.fromMe)).toHaveLength(N);

    // 4. Acks arrive over HTTP; every row ends READ.
    await sandbox.idle();
    const rows = await waitFor('rows to reach READ', async () => {
      const r = await t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', campaign.id).execute();
      return r.every((x) => x.status === 'READ') ? r : undefined;
    });
    expect(rows.every((r) => r.delivered_at !== null && r.read_at !== null)).toBe(true);

    // 5. Every delivery was answered 2xx; each envelope is stored exactly once although it came twice.
    const attempts = sandbox.webhooks;
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.every((a) => a.status === 200)).toBe(true);
    const envelopeIds = new Set(attempts.map((a) => a.envelopeId));
    expect(attempts.length).toBe(envelopeIds.size * 2);
    const stored = await sql<{ n: number; distinct_ids: number }>`select count(*)::int as n, count(distinct event_id)::int as distinct_ids from message_events`.execute(t.db);
    expect(stored.rows[0]).toEqual({ n: envelopeIds.size, distinct_ids: envelopeIds.size });
    const unmatched = await sql<{ n: number }>`select count(*)::int as n from message_events where event in ('message.ack','message.any') and not matched`.execute(t.db);
    expect(unmatched.rows[0]!.n).toBe(0);

    // 6. An inbound STOP through the same path opts the contact out.
    sandbox.injectMessage({ from: chats[0]!, text: 'STOP' });
    await sandbox.idle();
    const contact = await waitFor('the opt-out', async () => {
      const c = await t.db.selectFrom('contacts').selectAll().where('chat_id', '=', chats[0]!).executeTakeFirstOrThrow();
      return c.opted_out ? c : undefined;
    });
    expect(contact.opted_out_source).toBe('keyword');
    const replies = await t.db.selectFrom('replies').selectAll().execute();
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ kind: 'opt_out', campaign_id: campaign.id });

    // 7. The dashboard's API sees it all.
    const overview = await fetch(`${started.url}/api/running`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(overview.status).toBe(200);

    // 8. Graceful stop.
    const exited = new Promise<number | null>((resolve) => serve!.once('exit', (code) => resolve(code)));
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);

  it('refuses to start without DASHBOARD_API_TOKEN (exit 6)', async () => {
    const r = await runCli(['serve', '--port', '0', '--json'], { env: env({ DASHBOARD_API_TOKEN: '' }), cwd: home, timeoutMs: 30_000 });
    expect(r.code).toBe(6);
    expect(r.json.error.code).toBe('CONFIG_MISSING');
    expect(r.json.error.message).toMatch(/DASHBOARD_API_TOKEN/);
  });
});
