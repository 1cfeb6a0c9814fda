// statusSnapshot and healthCheck on real PostgreSQL (one cloned database for the file), plus the
// TUI's data source: a stale worker, an auto-paused campaign and UNKNOWN rows become attention
// items with the command that deals with each (promise 2: UNKNOWN rows wait for `campaign
// resolve`); pacing per session is judged by the worker's own decidePacing; health says which
// components the configuration needs and is not ok when one of them (WAHA here) is down.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmSource } from '../../src/core/audience/crm-source.js';
import { startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { FakeClock, systemClock } from '../../src/core/clock.js';
import type { Context } from '../../src/core/context.js';
import { CampaignError } from '../../src/core/errors.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { healthCheck, statusSnapshot, type WahaSessionSource } from '../../src/core/status/index.js';
import { createWahaClient, type WahaSession } from '../../src/core/waha/index.js';
import { createTuiSource, type TuiData } from '../../src/tui/tui-source.js';
import { drcContact } from '../helpers/seed.js';
import { adminQuery, createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

// Monday 11:00 in Kinshasa (UTC+1): inside the default 09:00–17:30 window.
const NOW = new Date('2026-03-02T10:00:00Z');
const clock = new FakeClock(NOW);
let t: TestDatabase;
let ctx: Context;
let running: number;
let autoPaused: number;
let contactSeq = 0;

function fakeWaha(sessions: WahaSession[]): WahaSessionSource {
  return { baseUrl: 'http://waha.test', listSessions: async () => sessions };
}

async function campaignWithQueue(name: string, rows: number, session = 'default'): Promise<number> {
  await t.db
    .insertInto('contacts')
    .values(Array.from({ length: rows }, () => {
      const i = contactSeq++;
      return drcContact(60_000_000 + i, { crm_id: `st-${i}`, name: `Person ${i}`, first_name: `P${i}`, city: 'Goma', source: 'store', store_id: 'G-1', brand: name });
    }))
    .execute();
  const { campaign } = await createCampaign(ctx, { name, brand: name, session, template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } });
  await approveCampaign(ctx, String(campaign.id));
  expect((await buildQueue(ctx, String(campaign.id))).queued).toBe(rows);
  return campaign.id;
}

async function heartbeat(name: string, lastSeen: Date, state: string): Promise<void> {
  await t.db
    .insertInto('worker_heartbeats')
    .values({ name, host: 'box', pid: 42, version: '0.1.0', started_at: new Date(lastSeen.getTime() - 3_600_000), last_seen_at: lastSeen, state, detail: null })
    .onConflict((oc) => oc.column('name').doUpdateSet({ last_seen_at: lastSeen, state }))
    .execute();
}

beforeAll(async () => {
  t = await createTestDatabase({ clock });
  ctx = t.ctx();
  running = await campaignWithQueue('running', 6);
  await startCampaign(ctx, String(running));
  // promise 2: two sends whose outcome is unknown.
  await sql`update send_queue set status = 'UNKNOWN' where id in (select id from send_queue where campaign_id = ${running} order by id limit 2)`.execute(t.db);
  autoPaused = await campaignWithQueue('failing', 3);
  await startCampaign(ctx, String(autoPaused));
  const reason = `auto-paused: 6 of the last 10 sends failed (threshold 50%); check \`campaign logs --campaign ${autoPaused} --event failed\`, then \`campaign resume ${autoPaused}\``;
  await sql`update campaigns set status = 'PAUSED', auto_paused = true, pause_reason = ${reason}, paused_at = ${NOW} where id = ${autoPaused}`.execute(t.db);
  await t.db
    .insertInto('notifications')
    .values([
      { at: NOW, level: 'error', kind: 'campaign_auto_paused', title: `Campaign ${autoPaused} auto-paused`, body: reason, campaign_id: autoPaused },
      { at: NOW, level: 'error', kind: 'webhook_rejected', title: 'Webhook signature mismatch', body: 'check WEBHOOK_HMAC_KEY', campaign_id: null },
      { at: NOW, level: 'error', kind: 'old', title: 'Already read', body: null, campaign_id: null, read_at: NOW },
      { at: NOW, level: 'info', kind: 'campaign_completed', title: 'Campaign 99 completed', body: null, campaign_id: null },
    ])
    .execute();
  // 5 sends today on "default", 3 of them in the last hour; the random delay runs 60 s more.
  const at = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * 60_000);
  await t.db
    .insertInto('session_sends')
    .values([150, 120, 50, 20, 5].map((m) => ({ session: 'default', at: at(m), kind: 'campaign' as const, campaign_id: running })))
    .execute();
  await t.db
    .insertInto('session_pacing')
    .values({ session: 'default', last_send_at: at(5), next_allowed_at: new Date(NOW.getTime() + 60_000), sends_in_block: 5 })
    .execute();
  await heartbeat('dead-worker', new Date(NOW.getTime() - 120_000), 'sending');
  await heartbeat('stopped-worker', new Date(NOW.getTime() - 600_000), 'stopped');
  await t.db.insertInto('message_events').values({ event_id: 'evt-1', event: 'message.ack', session: 'default', received_at: at(3), raw: '{}' }).execute();
});

afterAll(async () => {
  await t?.drop();
});

describe('statusSnapshot', () => {
  it('attention: the stale worker, the auto-paused campaign, the UNKNOWN rows, a failed session, no live worker, unread errors', async () => {
    const snap = await statusSnapshot(ctx, { waha: fakeWaha([{ name: 'default', status: 'WORKING' }, { name: 'backup', status: 'FAILED' }]) });
    const byKind = (k: string) => snap.attention.filter((a) => a.kind === k);

    expect(byKind('stale_worker')).toEqual([expect.objectContaining({ worker: 'dead-worker', severity: 'warning' })]);
    expect(byKind('stale_worker')[0]!.detail).toContain('last heartbeat 2m ago (stale after 30s)');
    expect(snap.workers.find((w) => w.name === 'stopped-worker')).toMatchObject({ stale: false, stopped: true });
    expect(snap.workers.find((w) => w.name === 'dead-worker')).toMatchObject({ stale: true, ageMs: 120_000 });

    expect(byKind('campaign_auto_paused')).toEqual([
      expect.objectContaining({ campaignId: autoPaused, severity: 'error', command: `campaign resume ${autoPaused}`, detail: expect.stringContaining('6 of the last 10 sends failed') }),
    ]);
    expect(byKind('unknown_rows')).toEqual([expect.objectContaining({ campaignId: running, command: `campaign resolve ${running} --resend|--skip` })]);
    expect(byKind('unknown_rows')[0]!.title).toContain('2 UNKNOWN');
    expect(byKind('session_not_working')).toEqual([expect.objectContaining({ session: 'backup' })]);
    // Only the stale worker exists and a campaign is RUNNING: nothing sends it.
    expect(byKind('no_live_worker')).toHaveLength(1);
    // The auto-pause notification is already an item with its resume command; read and info ones never show.
    expect(byKind('error_notification').map((a) => a.title)).toEqual(['Webhook signature mismatch']);
    expect(snap.attention[0]!.severity).toBe('error');
  });

  it('a live worker clears "no live worker"; the stale one stays', async () => {
    await heartbeat('live-worker', new Date(NOW.getTime() - 2000), 'waiting');
    const snap = await statusSnapshot(ctx, { waha: fakeWaha([{ name: 'default', status: 'WORKING' }]) });
    expect(snap.attention.some((a) => a.kind === 'no_live_worker')).toBe(false);
    expect(snap.attention.some((a) => a.kind === 'stale_worker' && a.worker === 'dead-worker')).toBe(true);
    expect(snap.components.find((c) => c.name === 'workers')).toMatchObject({ state: 'up', detail: '1 live, 1 stale' });
    await t.db.deleteFrom('worker_heartbeats').where('name', '=', 'live-worker').execute();
  });

  it('per session: sent today and in the last 60 minutes against the limits, the window, and the next allowed send from decidePacing', async () => {
    const snap = await statusSnapshot(ctx, { waha: fakeWaha([{ name: 'default', status: 'WORKING', me: { id: '243810000000@c.us' } }]) });
    const s = snap.sessions.find((x) => x.name === 'default')!;
    expect(s).toMatchObject({
      wahaStatus: 'WORKING', inWaha: true, me: '243810000000@c.us', sentToday: 5, dailyLimit: 30, lastHour: 3, hourlyLimit: 25, sendsInBlock: 5,
      window: { open: true, start: '09:00', end: '17:30', timezone: 'Africa/Kinshasa' }, canSendNow: false, heldBy: 'delay', inUse: true,
      nextAllowedSendAt: '2026-03-02T10:01:00.000Z', lastSendAt: '2026-03-02T09:55:00.000Z',
    });
    expect(s.heldMessage).toContain('random delay');
    // Outside the window: closed, and the next send is when it opens (Tuesday 09:00 Kinshasa).
    const evening = await statusSnapshot(ctx, { now: new Date('2026-03-02T19:00:00Z'), waha: fakeWaha([{ name: 'default', status: 'WORKING' }]) });
    expect(evening.sessions.find((x) => x.name === 'default')).toMatchObject({ window: { open: false }, heldBy: 'outside_window', nextAllowedSendAt: '2026-03-03T08:00:00.000Z' });
  });

  it('components, running items, ready campaigns, the last webhook; the whole thing is JSON-safe', async () => {
    const ready = await campaignWithQueue('ready', 2);
    const snap = await statusSnapshot(ctx, { waha: fakeWaha([{ name: 'default', status: 'WORKING' }]) });
    expect(snap.components.find((c) => c.kind === 'database')).toMatchObject({ state: 'up', ok: true, required: true });
    expect(snap.components.find((c) => c.kind === 'waha')).toMatchObject({ state: 'up', required: true });
    expect(snap.components.find((c) => c.name === 'session default')).toMatchObject({ state: 'up', required: true });
    expect(snap.components.find((c) => c.kind === 'crm')).toMatchObject({ state: 'not_configured', required: false });
    expect(snap.ok).toBe(true);
    expect(snap.lastWebhookAt).toBe('2026-03-02T09:57:00.000Z');
    expect(snap.running.map((r) => [r.id, r.status, r.autoPaused])).toEqual([
      [running, 'RUNNING', false],
      [autoPaused, 'PAUSED', true],
    ]);
    expect(snap.running[0]).toMatchObject({ total: 6, unknown: 2 });
    expect(snap.ready).toEqual([expect.objectContaining({ id: ready, status: 'APPROVED', pending: 2, session: 'default' })]);
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    await sql`update campaigns set archived = true where id = ${ready}`.execute(t.db);
  });

  it('WAHA down: reported, the sessions still come from the database, and the snapshot is not ok', async () => {
    const waha = createWahaClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 2000 });
    const snap = await statusSnapshot(ctx, { waha });
    expect(snap.waha).toMatchObject({ configured: true, reachable: false, error: expect.stringContaining('not reachable') });
    expect(snap.components.find((c) => c.kind === 'waha')).toMatchObject({ state: 'down', ok: false, required: true });
    expect(snap.sessions.find((s) => s.name === 'default')).toMatchObject({ wahaStatus: null, inWaha: null, sentToday: 5 });
    expect(snap.ok).toBe(false);
    expect(snap.attention.some((a) => a.kind === 'component_down' && a.title === 'waha is down')).toBe(true);
  });
});

describe('healthCheck', () => {
  it('WAHA down while WAHA_BASE_URL is set: required, down, not ok', async () => {
    const config = { ...ctx.config, wahaBaseUrl: 'http://127.0.0.1:9' };
    const h = await healthCheck(ctx, config, { waha: createWahaClient({ baseUrl: config.wahaBaseUrl, timeoutMs: 2000 }) });
    expect(h.ok).toBe(false);
    const waha = h.components.find((c) => c.name === 'waha')!;
    expect(waha).toMatchObject({ ok: false, required: true, state: 'down' });
    expect(typeof waha.latencyMs).toBe('number');
    expect(waha.detail).toContain('not reachable');
    expect(h.components.find((c) => c.name === 'database')).toMatchObject({ ok: true, required: true, state: 'up' });
    expect(JSON.parse(JSON.stringify(h))).toEqual(h);
  });

  it('everything the configuration needs is up: ok; what it does not configure is not required', async () => {
    const h = await healthCheck(ctx, { ...ctx.config, wahaBaseUrl: 'http://waha.test' }, { waha: fakeWaha([{ name: 'default', status: 'WORKING' }]) });
    expect(h.ok).toBe(true);
    expect(h.components.find((c) => c.name === 'crm')).toMatchObject({ state: 'not_configured', required: false });
    expect(h.components.find((c) => c.name === 'session default')).toMatchObject({ state: 'up', required: true });
    const bare = await healthCheck(ctx, { ...ctx.config, wahaBaseUrl: undefined });
    expect(bare.ok).toBe(true);
    expect(bare.components.find((c) => c.name === 'waha')).toMatchObject({ state: 'not_configured', required: false });
  });

  it('a session a RUNNING campaign sends through, FAILED in WAHA: required and down', async () => {
    const h = await healthCheck(ctx, { ...ctx.config, wahaBaseUrl: 'http://waha.test' }, { waha: fakeWaha([{ name: 'default', status: 'FAILED' }, { name: 'spare', status: 'STOPPED' }]) });
    expect(h.ok).toBe(false);
    expect(h.components.find((c) => c.name === 'session default')).toMatchObject({ state: 'down', required: true });
    expect(h.components.find((c) => c.name === 'session spare')).toMatchObject({ state: 'down', required: false });
  });

  it('the CRM is required when SUPABASE_URL is set', async () => {
    const crm = (fail: boolean): CrmSource =>
      ({
        description: 'crm.test',
        count: async () => {
          if (fail) throw new CampaignError('CRM_UNAVAILABLE', 'The CRM at crm.test cannot be reached', {});
          return 0;
        },
      }) as unknown as CrmSource;
    const config = { ...ctx.config, supabaseUrl: 'https://crm.test', supabaseServiceKey: 'k' };
    expect((await healthCheck(ctx, config, { crm: crm(false) })).components.find((c) => c.name === 'crm')).toMatchObject({ state: 'up', required: true });
    const down = await healthCheck(ctx, config, { crm: crm(true) });
    expect(down.ok).toBe(false);
    expect(down.components.find((c) => c.name === 'crm')).toMatchObject({ state: 'down', required: true, detail: expect.stringContaining('cannot be reached') });
  });

  it('no database: reported down with why, the rest still checked, no throw', async () => {
    const err = new CampaignError('DATABASE_UNAVAILABLE', 'The campaign database is not reachable (ECONNREFUSED).', {});
    const h = await healthCheck(undefined, { ...ctx.config, wahaBaseUrl: 'http://waha.test' }, { databaseError: err, waha: fakeWaha([]) });
    expect(h.ok).toBe(false);
    expect(h.components[0]).toMatchObject({ name: 'database', state: 'down', required: true, detail: err.message });
    expect(h.components.find((c) => c.name === 'waha')).toMatchObject({ state: 'up' });
  });
});

describe('the TUI data source', () => {
  it('loads, follows worker events, pauses through the core, and goes DISCONNECTED and back with the database', async () => {
    // Its own clone, so cutting connections never disturbs the tests above.
    const own = await createTestDatabase();
    const live: Context = own.ctx({ clock: systemClock });
    const source = createTuiSource({ ctx: live, pollMs: 200, timeoutMs: 2000 });
    const next = (check: (d: TuiData) => boolean, what: string, ms = 15_000) =>
      new Promise<TuiData>((resolve, reject) => {
        if (check(source.get())) return resolve(source.get());
        const timer = setTimeout(() => (off(), reject(new Error(`timed out waiting for ${what}: ${JSON.stringify({ ...source.get(), snapshot: undefined })}`))), ms);
        const off = source.subscribe((d) => {
          if (check(d)) {
            clearTimeout(timer);
            off();
            resolve(d);
          }
        });
      });
    try {
      await updateSettings(live, { timezone: 'UTC', sending_window_start: '00:00', sending_window_end: '23:59', sending_days: [1, 2, 3, 4, 5, 6, 7] });
      await own.db
        .insertInto('contacts')
        .values({ crm_id: 'x', name: 'X', first_name: 'X', phone_raw: '+243890000001', chat_id: '243890000001@c.us', phone_valid: true, brand: 'b', registered_brands: ['b'] })
        .execute();
      const { campaign } = await createCampaign(live, { name: 'Live one', brand: 'b', template: { mode: 'simple', type: 'text', text: 'Hi' } });
      await approveCampaign(live, String(campaign.id));
      await buildQueue(live, String(campaign.id));
      await startCampaign(live, String(campaign.id));

      const first = await next((d) => d.connected && d.snapshot?.running.length === 1, 'the running campaign');
      expect(first.snapshot!.running[0]).toMatchObject({ id: campaign.id, status: 'RUNNING' });
      await own.db.insertInto('worker_events').values({ event: 'delay', worker: 'w', waha_session: 'default', campaign_id: campaign.id, reason: 'random delay', details: '{}' }).execute();
      await next((d) => d.events.some((e) => e.event === 'delay' && e.campaignId === campaign.id), 'the new worker event');

      expect(await source.act('pause', { kind: 'campaign', id: campaign.id, name: 'Live one' })).toBe(`Campaign ${campaign.id} "Live one" is now PAUSED`);
      expect((await own.db.selectFrom('campaigns').select('status').where('id', '=', campaign.id).executeTakeFirstOrThrow()).status).toBe('PAUSED');
      await next((d) => d.snapshot?.running[0]?.status === 'PAUSED', 'PAUSED in the snapshot');
      await expect(source.act('pause', { kind: 'campaign', id: campaign.id, name: 'Live one' })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });

      // The database goes away: connections are cut and refused. The data stays, marked disconnected.
      await adminQuery(`alter database ${own.name} allow_connections false`);
      await adminQuery(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${own.name}' and pid <> pg_backend_pid()`);
      const down = await next((d) => !d.connected, 'DISCONNECTED');
      expect(down.error).toBeTruthy();
      expect(down.snapshot?.running[0]?.name).toBe('Live one');
      await adminQuery(`alter database ${own.name} allow_connections true`);
      await next((d) => d.connected, 'connected again');
    } finally {
      await source.close();
      await adminQuery(`alter database ${own.name} allow_connections true`).catch(() => {});
      await own.drop();
    }
  });
});
