// One-time previews on real Postgres and the real sandbox over HTTP: rendered for the test user,
// counted toward the session's limits (promise 1) and refused at them without sending or writing
// anything, 501 → the saved fallback, drafts from a file never saved, WAHA's refusals as exit 8.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { createMediaResolver } from '../../src/core/media/create-media-resolver.js';
import { sendPreview } from '../../src/core/preview/index.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { addTestUser, deactivateTestUser } from '../../src/core/test-users/test-user.service.js';
import { createWahaClient } from '../../src/core/waha/index.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { ARRIVAL_MARGIN_MS } from '../../src/core/worker/send-slot.js';
import { refused } from '../helpers/refused.js';
import { BUTTONS_TEMPLATE as BUTTONS, draftCampaign, TEXT_TEMPLATE as TEXT } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

// Monday 11:00 in Africa/Kinshasa (UTC+1).
const NOW = '2026-01-05T10:00:00Z';
const clock = new FakeClock(NOW);
let t: TestDatabase;
let sandbox: Sandbox;

beforeAll(async () => {
  t = await createTestDatabase({ clock });
  sandbox = await startSandbox({ seed: 3, ackDelayMs: [1, 5] });
  await addTestUser(t.ctx(), { name: 'Asha Mwamba', phone: '+243812345601' });
  await addTestUser(t.ctx(), { name: 'Dormant User', phone: '+243812345602' });
  await deactivateTestUser(t.ctx(), 'Dormant User');
});
afterAll(async () => {
  await sandbox?.close();
  await t?.drop();
});
beforeEach(async () => {
  clock.set(NOW);
  sandbox.reset();
  sandbox.setFaults({ notImplementedButtons: false, errorRate5xx: 0 });
  await t.pool.query('delete from session_sends; delete from session_pacing; delete from campaigns');
  await updateSettings(t.ctx(), { daily_limit: 30, hourly_limit: 25 });
});

const campaign = (name: string, template: Record<string, unknown> = TEXT) => draftCampaign(t.ctx(), name, template);

function ports() {
  return { waha: createWahaClient({ baseUrl: sandbox.url }), resolveMedia: createMediaResolver(t.ctx()), rng: () => 0 };
}

async function sent(): Promise<Array<{ endpoint: string; chatId: string; session: string; body: Record<string, unknown> }>> {
  return (await (await fetch(`${sandbox.url}/_sandbox/messages`)).json()) as never;
}

async function rows(sql: string, params: unknown[] = []): Promise<any[]> {
  return (await t.pool.query(sql, params)).rows;
}

/** `n` sends already made from the session at `at` (by the worker, a test run or another preview). */
async function priorSends(n: number, at: string, kind = 'campaign'): Promise<void> {
  for (let i = 0; i < n; i++) await t.pool.query(`insert into session_sends (session, at, kind) values ('default', $1, $2)`, [at, kind]);
}

describe('one-time preview', () => {
  it("sends the campaign rendered with the test user's values, counts it for the session, writes no queue row or test run, and is audited", async () => {
    const id = await campaign('Preview me');
    const r = await sendPreview(t.ctx(), { campaign: 'Preview me', testUser: 'Asha Mwamba' }, ports());
    expect(r).toMatchObject({
      status: 'SENT_API_ACCEPTED',
      usedFallback: false,
      endpoint: '/api/sendText',
      payload: { session: 'default', chatId: '243812345601@c.us', text: 'Hi Asha, Acme news for .' },
      testUser: { name: 'Asha Mwamba', chatId: '243812345601@c.us' },
      session: 'default',
      source: 'campaign',
      sendsToday: 1,
      dailyLimit: 30,
    });
    expect(r.messageId).not.toBe('');
    const got = await sent();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ endpoint: '/api/sendText', chatId: '243812345601@c.us', session: 'default' });
    expect(got[0]!.body.text).toBe('Hi Asha, Acme news for .');

    const counted = await rows(`select kind, campaign_id, chat_id, at from session_sends`);
    expect(counted).toEqual([{ kind: 'preview', campaign_id: id, chat_id: '243812345601@c.us', at: new Date(NOW) }]);
    expect(await rows('select id from send_queue')).toEqual([]);
    expect(await rows('select id from campaign_test_runs')).toEqual([]);
    // The worker's next send keeps its delay after the preview (promise 1).
    expect((await rows(`select last_send_at, sends_in_block from session_pacing where session = 'default'`))[0]).toMatchObject({ last_send_at: new Date(NOW), sends_in_block: 1 });
    // The DRAFT is untouched.
    expect((await rows('select status, content_frozen_at from campaigns where id = $1', [id]))[0]).toEqual({ status: 'DRAFT', content_frozen_at: null });

    const audit = await rows(`select action, campaign_id, details from admin_activity where campaign_id = $1 and action like 'preview.%' order by id`, [id]);
    expect(audit.map((a) => a.action)).toEqual(['preview.send', 'preview.result']);
    expect(audit[0].details).toMatchObject({ chatId: '243812345601@c.us', session: 'default', endpoint: '/api/sendText', source: 'campaign' });
    expect(audit[1].details).toMatchObject({ outcome: { kind: 'accepted' }, usedFallback: false });
  });

  it('at the daily limit it is refused with when the count resets; nothing is sent and nothing written (promise 1)', async () => {
    const id = await campaign('Limited');
    await updateSettings(t.ctx(), { daily_limit: 3, hourly_limit: 3 });
    // Yesterday's sends do not count; today's (since local midnight) do.
    await priorSends(5, '2026-01-04T20:00:00Z');
    await priorSends(2, '2026-01-05T06:00:00Z');
    await priorSends(1, '2026-01-04T23:30:00Z', 'test'); // 00:30 Monday in Kinshasa
    const before = await rows('select count(*)::int as n from session_sends');
    const e = await refused(sendPreview(t.ctx(), { campaign: 'Limited', testUser: 'Asha Mwamba' }, ports()));
    expect(e.code).toBe('LIMIT_REACHED');
    expect(e.exitCode).toBe(5);
    expect(e.message).toMatch(/daily limit reached: 3 of 3 sends today; next send Tue 00:00 Africa\/Kinshasa/);
    expect(e.message).toMatch(/in 13 h/);
    expect(e.message).toMatch(/Nothing was sent/);
    expect(e.details).toMatchObject({ reason: 'daily_limit', sendsToday: 3, dailyLimit: 3, resetsAt: '2026-01-05T23:00:00.000Z' });
    expect(await sent()).toEqual([]);
    expect(await rows('select count(*)::int as n from session_sends')).toEqual(before);
    expect(await rows(`select id from admin_activity where campaign_id = $1 and action like 'preview.%'`, [id])).toEqual([]);

    // The next local day it goes through again.
    clock.set('2026-01-05T23:00:00Z');
    const r = await sendPreview(t.ctx(), { campaign: 'Limited', testUser: 'Asha Mwamba' }, ports());
    expect(r.sendsToday).toBe(1);
  });

  it('at the hourly limit it is refused with when the next send is allowed', async () => {
    await campaign('Hourly');
    await updateSettings(t.ctx(), { daily_limit: 30, hourly_limit: 2 });
    await priorSends(1, '2026-01-05T09:10:00Z');
    await priorSends(1, '2026-01-05T09:40:00Z');
    const e = await refused(sendPreview(t.ctx(), { campaign: 'Hourly', testUser: 'Asha Mwamba' }, ports()));
    expect(e.code).toBe('LIMIT_REACHED');
    expect(e.message).toMatch(/hourly limit reached: 2 of 2 sends in the last 60 minutes/);
    expect(e.details).toMatchObject({ reason: 'hourly_limit', allowedAt: '2026-01-05T10:10:00.000Z' });
    expect(await sent()).toEqual([]);
  });

  it('promise 1: a 501 for buttons sends the saved fallback in a paced slot of its own, its delay after the 501', async () => {
    await campaign('Buttons', BUTTONS);
    sandbox.setFaults({ notImplementedButtons: true });
    const r = await sendPreview(t.ctx(), { campaign: 'Buttons', testUser: 'Asha Mwamba' }, ports());
    expect(r).toMatchObject({
      status: 'SENT_API_ACCEPTED',
      usedFallback: true,
      endpoint: '/api/sendText',
      messageType: 'text',
      payload: { session: 'default', chatId: '243812345601@c.us', text: 'Asha: Acme fallback' },
    });
    const got = await sent();
    expect(got.map((m) => [m.endpoint, m.body.text])).toEqual([['/api/sendText', 'Asha: Acme fallback']]);
    expect(sandbox.requests.filter((q) => q.path === '/api/sendButtons').map((q) => q.status)).toEqual([501]);
    // Two message-creating requests reached WAHA, so two sends count, and the fallback left only
    // after the delay drawn for the 501'd request (rng 0: delay_min_seconds, 45 s by default).
    const counted = await rows(`select kind, at from session_sends order by at`);
    expect(counted.map((c) => c.kind)).toEqual(['preview', 'preview']);
    expect(counted[1].at.getTime() - counted[0].at.getTime()).toBe(45_000 + ARRIVAL_MARGIN_MS);
  });

  it('--file: a bare template or a campaign file is sent for this preview only; the campaign is not changed', async () => {
    const id = await campaign('Drafty');
    const hash = (await rows('select content_hash from campaigns where id = $1', [id]))[0].content_hash;
    const a = await sendPreview(
      t.ctx(),
      { campaign: String(id), testUser: '#1', template: { mode: 'advanced', type: 'text', payload: { text: 'Draft for {{first_name}} ({{brand}})' } } },
      ports(),
    );
    expect(a).toMatchObject({ source: 'file', payload: { text: 'Draft for Asha (Acme)' } });
    const b = await sendPreview(
      t.ctx(),
      { campaign: String(id), testUser: '+243812345601', template: { name: 'Drafty', brand: 'Brand B', template: { mode: 'advanced', type: 'text', payload: { text: '{{brand}} says hi {{first_name}}' } } } },
      ports(),
    );
    expect(b).toMatchObject({ source: 'file', payload: { text: 'Brand B says hi Asha' } });
    expect((await sent()).map((m) => m.body.text)).toEqual(['Draft for Asha (Acme)', 'Brand B says hi Asha']);
    expect((await rows('select content_hash, brand from campaigns where id = $1', [id]))[0]).toEqual({ content_hash: hash, brand: 'Acme' });

    const bad = await refused(sendPreview(t.ctx(), { campaign: String(id), testUser: 'Asha Mwamba', template: { type: 'txt', text: 'x' } }, ports()));
    expect(bad.code).toBe('TEMPLATE_INVALID');
    expect(await rows(`select kind from session_sends`)).toHaveLength(2);
  });

  it("WAHA's refusal or outage is an UPSTREAM error (exit 8) naming what WAHA said; the attempt stays counted and audited; an unknown session is refused before any send", async () => {
    const id = await campaign('Outage');
    sandbox.setFaults({ errorRate5xx: 1 });
    const e = await refused(sendPreview(t.ctx(), { campaign: 'Outage', testUser: 'Asha Mwamba' }, ports()));
    expect(e.code).toBe('WAHA_UNAVAILABLE');
    expect(e.exitCode).toBe(8);
    expect(e.message).toMatch(/500/);
    sandbox.setFaults({ errorRate5xx: 0 });

    await t.pool.query(`update campaigns set waha_session = 'ghost' where id = $1`, [id]);
    const counted = (await rows('select id from session_sends')).length;
    const ghost = await refused(sendPreview(t.ctx(), { campaign: 'Outage', testUser: 'Asha Mwamba' }, ports()));
    expect(ghost.code).toBe('SESSION_NOT_FOUND');
    expect(ghost.message).toMatch(/ghost/);
    expect(await rows('select id from session_sends')).toHaveLength(counted);
    expect(sandbox.requests.filter((q) => q.path.startsWith('/api/send') && q.body && (q.body as { session?: string }).session === 'ghost')).toEqual([]);
    const results = await rows(`select details from admin_activity where campaign_id = $1 and action = 'preview.result' order by id`, [id]);
    expect(results.map((r) => r.details.outcome.kind)).toEqual(['retryable']);
  });

  it('promise 1: a session WAHA reports FAILED or SCAN_QR_CODE, or one the worker found not working, is refused before any send request', async () => {
    await campaign('Down');
    for (const status of ['FAILED', 'SCAN_QR_CODE']) {
      sandbox.reset();
      sandbox.setSessionStatus('default', status);
      const e = await refused(sendPreview(t.ctx(), { campaign: 'Down', testUser: 'Asha Mwamba' }, ports()));
      expect(e.code).toBe('SESSION_NOT_WORKING');
      expect(e.exitCode).toBe(8);
      expect(e.message).toContain(status);
      expect(sandbox.requests.filter((q) => q.path.startsWith('/api/send'))).toEqual([]);
    }
    sandbox.setSessionStatus('default', 'WORKING');
    // Known to the campaign database as not working (the worker saw a 422): no request at all.
    sandbox.reset();
    await t.pool.query(`insert into session_pacing (session, not_working_reason) values ('default', 'WAHA answered 422: SCAN_QR_CODE')`);
    const known = await refused(sendPreview(t.ctx(), { campaign: 'Down', testUser: 'Asha Mwamba' }, { ...ports(), waha: { send: ports().waha.send } }));
    expect(known.code).toBe('SESSION_NOT_WORKING');
    expect(sandbox.requests.filter((q) => q.path.startsWith('/api/send'))).toEqual([]);
    expect(await rows('select id from session_sends')).toEqual([]);
  });

  it('promise 1: a session that WAHA finds unusable at the send (422) does not count, and pauses for workers and previews alike', async () => {
    await campaign('Dropped');
    sandbox.setSessionStatus('default', 'SCAN_QR_CODE');
    const client = createWahaClient({ baseUrl: sandbox.url });
    // WAHA said WORKING a moment before (the live check), then refused the send.
    const stale = { send: client.send.bind(client), getSession: async () => ({ status: 'WORKING' }) };
    const e = await refused(sendPreview(t.ctx(), { campaign: 'Dropped', testUser: 'Asha Mwamba' }, { ...ports(), waha: stale }));
    expect(e.exitCode).toBe(8);
    expect(await rows('select id from session_sends')).toEqual([]);
    expect((await rows(`select not_working_reason from session_pacing where session = 'default'`))[0].not_working_reason).toMatch(/not usable/);
    sandbox.setSessionStatus('default', 'WORKING');
  });

  it('promise 1: a preview right after a send waits out the drawn delay (one pacing decision), and is refused when the wait is longer than allowed', async () => {
    await campaign('Gap');
    await updateSettings(t.ctx(), { delay_min_seconds: 60, delay_max_seconds: 60 });
    // The worker just sent: the next send is allowed 60 s later.
    await priorSends(1, NOW);
    await t.pool.query(`insert into session_pacing (session, last_send_at, next_allowed_at) values ('default', $1, $2)`, [NOW, new Date(Date.parse(NOW) + 60_000)]);
    const waits: string[] = [];
    const r = await sendPreview(t.ctx(), { campaign: 'Gap', testUser: 'Asha Mwamba' }, { ...ports(), onWait: (m) => waits.push(m) });
    expect(r.status).toBe('SENT_API_ACCEPTED');
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatch(/random delay after the last send/);
    const at = (await rows(`select at from session_sends where kind = 'preview'`))[0].at as Date;
    expect(at.getTime() - Date.parse(NOW)).toBe(60_000);

    // Straight after that preview, with a wait limit shorter than the delay: refused, saying when.
    const e = await refused(sendPreview(t.ctx(), { campaign: 'Gap', testUser: 'Asha Mwamba' }, { ...ports(), maxWaitMs: 10_000 }));
    expect(e.code).toBe('LIMIT_REACHED');
    expect(e.details).toMatchObject({ reason: 'delay' });
    expect(e.message).toMatch(/Nothing was sent/);
    expect(await rows(`select id from session_sends where kind = 'preview'`)).toHaveLength(1);
  });

  it('promise 4: a tester whose number sent STOP or is suppressed gets no preview; nothing is counted or sent', async () => {
    await campaign('Stopped');
    for (const flag of ['opted_out', 'suppressed']) {
      await t.pool.query(`insert into number_blocks (chat_id, ${flag}) values ('243812345601@c.us', true) on conflict (chat_id) do update set ${flag} = true`);
      const e = await refused(sendPreview(t.ctx(), { campaign: 'Stopped', testUser: 'Asha Mwamba' }, ports()));
      expect(e.code).toBe('NUMBER_BLOCKED');
      expect(e.exitCode).toBe(5);
      expect(e.message).toMatch(flag === 'opted_out' ? /opted out/ : /suppressed/);
      expect(await sent()).toEqual([]);
      expect(await rows('select id from session_sends')).toEqual([]);
      await t.pool.query(`delete from number_blocks`);
    }
  });

  it('promise 1: previews skip the sending window and days (an internal tester), but not the block pause', async () => {
    await campaign('Sunday');
    // Sunday 23:00 in Kinshasa: outside the window and not a sending day.
    clock.set('2026-01-04T22:00:00Z');
    const r = await sendPreview(t.ctx(), { campaign: 'Sunday', testUser: 'Asha Mwamba' }, ports());
    expect(r.status).toBe('SENT_API_ACCEPTED');
    await t.pool.query(`update session_pacing set next_allowed_at = null, block_pause_until = $1`, [new Date(Date.parse('2026-01-04T22:00:00Z') + 15 * 60_000)]);
    const e = await refused(sendPreview(t.ctx(), { campaign: 'Sunday', testUser: 'Asha Mwamba' }, { ...ports(), maxWaitMs: 60_000 }));
    expect(e.details).toMatchObject({ reason: 'block_pause' });
  });

  it('refuses a deactivated or unknown test user and an unknown campaign before anything is counted', async () => {
    await campaign('Who');
    expect((await refused(sendPreview(t.ctx(), { campaign: 'Who', testUser: 'Dormant User' }, ports()))).code).toBe('TEST_USER_INACTIVE');
    expect((await refused(sendPreview(t.ctx(), { campaign: 'Who', testUser: 'Nobody' }, ports()))).code).toBe('TEST_USER_NOT_FOUND');
    expect((await refused(sendPreview(t.ctx(), { campaign: 'Nope', testUser: 'Asha Mwamba' }, ports()))).code).toBe('CAMPAIGN_NOT_FOUND');
    expect(await rows('select id from session_sends')).toEqual([]);
    expect(await sent()).toEqual([]);
  });
});
