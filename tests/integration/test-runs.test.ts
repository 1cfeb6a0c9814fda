// Test runs on real Postgres: the snapshot (promise 3: rendered per tester, never changed by a
// later edit of the DRAFT), who is left out, controls binding at the claim (promise 5), audit,
// and the real worker sending a run to the real sandbox over HTTP until it COMPLETES.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { cancelCampaign } from '../../src/core/campaigns/campaign-control.js';
import { editCampaign } from '../../src/core/campaigns/campaign.service.js';
import { createMediaResolver } from '../../src/core/media/create-media-resolver.js';
import { writeReport } from '../../src/core/reports/index.js';
import { getSettings, updateSettings } from '../../src/core/settings/settings.service.js';
import { addTestListMembers, createTestList } from '../../src/core/test-lists/test-list.service.js';
import { cancelTestRun, listTestRuns, pauseTestRun, resumeTestRun, showTestRun, startTestRun } from '../../src/core/test-runs/index.js';
import { addTestUser, deactivateTestUser } from '../../src/core/test-users/test-user.service.js';
import { createWahaClient } from '../../src/core/waha/index.js';
import { ingestWahaEvent } from '../../src/core/webhooks/ingest-waha-event.js';
import { claimNext } from '../../src/core/worker/claim-next.js';
import { runWorker } from '../../src/core/worker/run-worker.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { refused } from '../helpers/refused.js';
import { BUTTONS_TEMPLATE as BUTTONS, draftCampaign, TEXT_TEMPLATE as TEXT } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

// Monday 11:00 in Africa/Kinshasa: inside the default window and sending days.
const clock = new FakeClock('2026-01-05T10:00:00Z');
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ clock });
});
afterAll(async () => {
  await t?.drop();
});
beforeEach(async () => {
  clock.set('2026-01-05T10:00:00Z');
  await t.pool.query(`delete from campaign_test_run_recipients; delete from campaign_test_runs; delete from session_sends; delete from session_pacing;
    delete from worker_events; delete from notifications; delete from test_list_members; delete from test_lists; delete from test_users; delete from campaigns;
    delete from replies; delete from message_events; delete from contacts; delete from number_blocks`);
});

const campaign = (name: string, template: Record<string, unknown> = TEXT) => draftCampaign(t.ctx(), name, template);

/** A list "QA" with Asha Mwamba, Ben Kalala (active) and Chloé Inactive (deactivated). */
async function qaList(): Promise<void> {
  await addTestUser(t.ctx(), { name: 'Asha Mwamba', phone: '+243812345601' });
  await addTestUser(t.ctx(), { name: 'Ben Kalala', phone: '+243812345602' });
  await addTestUser(t.ctx(), { name: 'Chloé Inactive', phone: '+243812345603' });
  await createTestList(t.ctx(), { name: 'QA' });
  await addTestListMembers(t.ctx(), 'QA', ['Asha Mwamba', 'Ben Kalala', 'Chloé Inactive']);
  await deactivateTestUser(t.ctx(), 'Chloé Inactive');
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await t.pool.query(sql, params)).rows[0].n);
}

describe('test runs', () => {
  it('start snapshots the active members with the payload rendered for each; inactive members are left out (promise 3)', async () => {
    const id = await campaign('Snap');
    await qaList();
    const r = await startTestRun(t.ctx(), String(id), 'QA');
    expect(r.testRun).toMatchObject({ campaignId: id, testListName: 'QA', session: 'default', status: 'RUNNING', template: TEXT });
    expect(r.warnings).toContain('1 inactive member(s) of "QA" were left out');
    expect(r.total).toBe(2);
    expect(r.counts).toEqual({ PENDING: 2 });
    const byName = Object.fromEntries(r.recipients.map((x) => [x.name, x]));
    expect(Object.keys(byName).sort()).toEqual(['Asha Mwamba', 'Ben Kalala']);
    expect(byName['Asha Mwamba']).toMatchObject({
      chatId: '243812345601@c.us',
      status: 'PENDING',
      messageType: 'text',
      endpoint: '/api/sendText',
      // first_name is the first word of the name, brand the campaign's, the rest blank.
      payload: { session: 'default', chatId: '243812345601@c.us', text: 'Hi Asha, Acme news for .' },
      fallbackEndpoint: null,
      fallbackPayload: null,
      attempts: 0,
      nextAttemptAt: null,
    });
    const run = (await t.pool.query('select content_hash, template_json from campaign_test_runs where id = $1', [r.testRun.id])).rows[0];
    const c = (await t.pool.query('select content_hash, status from campaigns where id = $1', [id])).rows[0];
    expect(run.content_hash).toBe(c.content_hash);
    expect(run.template_json).toEqual(TEXT);
    expect(c.status).toBe('DRAFT');
    const audit = (await t.pool.query(`select * from admin_activity where action = 'test_run.start' and campaign_id = $1`, [id])).rows;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ entity_type: 'test_run', entity_id: String(r.testRun.id), campaign_id: id, actor: 'test' });
    expect(audit[0].details).toMatchObject({ recipients: 2, inactiveLeftOut: 1, testListName: 'QA' });
  });

  it('the DRAFT stays editable after a test run, and editing it never changes the snapshot (promise 3)', async () => {
    const id = await campaign('Editable');
    await qaList();
    const r = await startTestRun(t.ctx(), 'Editable', 'QA');
    const before = (await t.pool.query('select * from campaign_test_run_recipients where test_run_id = $1 order by id', [r.testRun.id])).rows;
    const edited = await editCampaign(t.ctx(), String(id), { name: 'Editable', brand: 'Other', template: { mode: 'advanced', type: 'text', payload: { text: 'Changed {{first_name}}' } } });
    expect(edited.campaign).toMatchObject({ status: 'DRAFT', brand: 'Other' });
    const after = (await t.pool.query('select * from campaign_test_run_recipients where test_run_id = $1 order by id', [r.testRun.id])).rows;
    expect(after).toEqual(before);
    expect(after[0].rendered_payload.text).toBe('Hi Asha, Acme news for .');
    const shown = await showTestRun(t.ctx(), String(r.testRun.id));
    expect(shown.testRun.template).toEqual(TEXT);
    expect(shown.testRun.contentHash).not.toBe(edited.campaign.contentHash);
  });

  it('buttons: the fallback endpoint and payload are rendered into the snapshot too', async () => {
    await campaign('Buttons', BUTTONS);
    await qaList();
    const r = await startTestRun(t.ctx(), 'Buttons', 'QA');
    const asha = r.recipients.find((x) => x.name === 'Asha Mwamba')!;
    expect(asha).toMatchObject({
      messageType: 'buttons',
      endpoint: '/api/sendButtons',
      fallbackEndpoint: '/api/sendText',
      fallbackPayload: { session: 'default', chatId: '243812345601@c.us', text: 'Asha: Acme fallback' },
    });
    expect(asha.payload).toMatchObject({ session: 'default', chatId: '243812345601@c.us', header: 'Acme', body: 'Asha, how are you?' });
  });

  it('refuses an empty list, a list with no active member, and a cancelled campaign; nothing is written', async () => {
    await campaign('Refusals');
    await createTestList(t.ctx(), { name: 'Empty' });
    const empty = await refused(startTestRun(t.ctx(), 'Refusals', 'Empty'));
    expect(empty.code).toBe('TEST_LIST_EMPTY');
    expect(empty.message).toMatch(/no members.*test-lists add/);
    expect(empty.exitCode).toBe(5);

    await addTestUser(t.ctx(), { name: 'Dormant', phone: '+243812345609' });
    await createTestList(t.ctx(), { name: 'Sleepers' });
    await addTestListMembers(t.ctx(), 'Sleepers', ['Dormant']);
    await deactivateTestUser(t.ctx(), 'Dormant');
    const inactive = await refused(startTestRun(t.ctx(), 'Refusals', 'Sleepers'));
    expect(inactive.code).toBe('TEST_LIST_EMPTY');
    expect(inactive.message).toMatch(/none is active/);

    await qaList();
    expect((await refused(startTestRun(t.ctx(), 'Nope', 'QA'))).code).toBe('CAMPAIGN_NOT_FOUND');
    expect((await refused(startTestRun(t.ctx(), 'Refusals', 'Nope'))).code).toBe('TEST_LIST_NOT_FOUND');
    await cancelCampaign(t.ctx(), 'Refusals');
    const cancelled = await refused(startTestRun(t.ctx(), 'Refusals', 'QA'));
    expect(cancelled.code).toBe('INVALID_TRANSITION');
    expect(cancelled.message).toMatch(/duplicate/);

    expect(await count('select count(*) as n from campaign_test_runs')).toBe(0);
    expect(await count('select count(*) as n from campaign_test_run_recipients')).toBe(0);
    expect(await count(`select count(*) as n from admin_activity where action like 'test_run.%' and campaign_id = (select id from campaigns where name = 'Refusals')`)).toBe(0);
  });

  it('promise 4: a tester whose number sent STOP is snapshotted as SKIPPED with a warning and never claimed; START brings the number back', async () => {
    const id = await campaign('Stopped tester');
    await qaList();
    const stop = (body: string) =>
      ingestWahaEvent(t.ctx(), JSON.stringify({ id: `evt_tr_${body}_${Date.now()}`, event: 'message', session: 'default', payload: { id: `false_243812345601@c.us_3EB0${body}`, from: '243812345601@c.us', fromMe: false, body } }));
    expect((await stop('STOP')).error ?? null).toBeNull();
    const r = await startTestRun(t.ctx(), String(id), 'QA');
    expect(r.counts).toEqual({ PENDING: 1, SKIPPED: 1 });
    expect(r.recipients.find((x) => x.name === 'Asha Mwamba')).toMatchObject({ status: 'SKIPPED', skipReason: 'opted_out' });
    expect(r.warnings).toContain('Asha Mwamba (243812345601@c.us) is skipped: the number opted out (sent "STOP" on WhatsApp)');
    const settings = await getSettings(t.db);
    const claim = await claimNext(t.ctx(), 'default', { worker: 'w1', settings, rng: () => 0 });
    expect(claim.kind === 'claimed' && claim.recipient.chatId).toBe('243812345602@c.us');

    await stop('START');
    const again = await startTestRun(t.ctx(), String(id), 'QA');
    expect(again.counts).toEqual({ PENDING: 2 });
  });

  it("rows are claimable by the worker's claim; pause binds from the next claim, resume hands them back (promise 5)", async () => {
    await campaign('Claimable');
    await qaList();
    const r = await startTestRun(t.ctx(), 'Claimable', 'QA');
    const settings = await getSettings(t.db);
    const opts = { worker: 'w1', settings, rng: () => 0 };

    await pauseTestRun(t.ctx(), String(r.testRun.id), 'checking copy');
    expect((await claimNext(t.ctx(), 'default', opts)).kind).toBe('idle');

    const resumed = await resumeTestRun(t.ctx(), String(r.testRun.id));
    expect(resumed.testRun).toMatchObject({ status: 'RUNNING', pauseReason: null });
    const claim = await claimNext(t.ctx(), 'default', opts);
    expect(claim.kind).toBe('claimed');
    if (claim.kind !== 'claimed') return;
    expect(claim.recipient).toMatchObject({ kind: 'test', ownerId: r.testRun.id, endpoint: '/api/sendText' });
    expect(await count(`select count(*) as n from session_sends where kind = 'test'`)).toBe(1);
  });

  it('cancel skips rows that never left and keeps the one in flight; a finished run refuses further control; all audited', async () => {
    const id = await campaign('Cancel me');
    await qaList();
    const r = await startTestRun(t.ctx(), 'Cancel me', 'QA');
    const settings = await getSettings(t.db);
    const claim = await claimNext(t.ctx(), 'default', { worker: 'w1', settings, rng: () => 0 });
    expect(claim.kind).toBe('claimed');
    const cancelled = await cancelTestRun(t.ctx(), `#${r.testRun.id}`, 'wrong copy');
    expect(cancelled.testRun.status).toBe('CANCELLED');
    expect(cancelled.counts).toEqual({ SENDING: 1, SKIPPED: 1 });
    expect(cancelled.recipients.find((x) => x.status === 'SKIPPED')!.skipReason).toBe('test run cancelled');

    for (const p of [pauseTestRun, resumeTestRun, cancelTestRun]) {
      const e = await refused(p(t.ctx(), String(r.testRun.id)));
      expect(e.code).toBe('TEST_RUN_INVALID_TRANSITION');
      expect(e.message).toMatch(/CANCELLED/);
    }
    expect((await refused(showTestRun(t.ctx(), '999999'))).code).toBe('TEST_RUN_NOT_FOUND');
    expect((await refused(pauseTestRun(t.ctx(), 'abc'))).code).toBe('TEST_RUN_NOT_FOUND');
    const actions = (await t.pool.query(`select action, details from admin_activity where action like 'test_run.%' and campaign_id = $1 order by id`, [id])).rows;
    expect(actions.map((a) => a.action)).toEqual(['test_run.start', 'test_run.cancel']);
    expect(actions[1].details).toMatchObject({ from: 'RUNNING', to: 'CANCELLED', reason: 'wrong copy', skipped: 1 });
  });

  it('resuming a paused run with nothing left to send completes it', async () => {
    await campaign('Drained');
    await qaList();
    const r = await startTestRun(t.ctx(), 'Drained', 'QA');
    await pauseTestRun(t.ctx(), String(r.testRun.id));
    await t.pool.query(`update campaign_test_run_recipients set status = 'SENT_API_ACCEPTED' where test_run_id = $1`, [r.testRun.id]);
    const resumed = await resumeTestRun(t.ctx(), String(r.testRun.id));
    expect(resumed.testRun.status).toBe('COMPLETED');
    expect(resumed.testRun.completedAt).not.toBeNull();
  });

  it('list shows runs newest first with counts, optionally by campaign', async () => {
    const a = await campaign('List A');
    await campaign('List B');
    await qaList();
    const r1 = await startTestRun(t.ctx(), 'List A', 'QA');
    const r2 = await startTestRun(t.ctx(), 'List B', 'QA');
    await cancelTestRun(t.ctx(), String(r2.testRun.id));
    const all = await listTestRuns(t.ctx());
    expect(all.testRuns.map((x) => x.id)).toEqual([r2.testRun.id, r1.testRun.id]);
    expect(all.testRuns[0]).toMatchObject({ campaignName: 'List B', status: 'CANCELLED', total: 2, counts: { SKIPPED: 2 } });
    const onlyA = await listTestRuns(t.ctx(), { campaign: String(a) });
    expect(onlyA.testRuns.map((x) => x.id)).toEqual([r1.testRun.id]);
    expect(onlyA.testRuns[0]).toMatchObject({ status: 'RUNNING', total: 2, counts: { PENDING: 2 } });
  });

  it('the real worker sends a test run to the sandbox over HTTP and the run COMPLETES; the report lists it', async () => {
    const sandbox = await startSandbox({ seed: 7, ackDelayMs: [1, 5] });
    try {
      await updateSettings(t.ctx(), { delay_min_seconds: 0, delay_max_seconds: 0, pause_min_minutes: 0, pause_max_minutes: 0 });
      await campaign('Worker run', BUTTONS);
      await qaList();
      sandbox.setFaults({ notImplementedButtons: true });
      const r = await startTestRun(t.ctx(), 'Worker run', 'QA');
      const ctx = t.ctx();
      const summary = await runWorker(
        ctx,
        { waha: createWahaClient({ baseUrl: sandbox.url }), resolveMedia: createMediaResolver(ctx), rng: () => 0.5 },
        { name: 'test-worker', version: 'test', once: true, stop: new AbortController().signal },
      );
      expect(summary).toMatchObject({ sent: 2, failed: 0, unknown: 0 });
      const shown = await showTestRun(t.ctx(), String(r.testRun.id));
      expect(shown.testRun.status).toBe('COMPLETED');
      expect(shown.counts).toEqual({ SENT_API_ACCEPTED: 2 });
      expect(shown.recipients.every((x) => x.usedFallback && x.wahaMessageId)).toBe(true);

      const sent = (await (await fetch(`${sandbox.url}/_sandbox/messages`)).json()) as Array<{ endpoint: string; chatId: string; body: Record<string, unknown> }>;
      expect(sent.map((m) => [m.endpoint, m.chatId, m.body.text]).sort()).toEqual([
        ['/api/sendText', '243812345601@c.us', 'Asha: Acme fallback'],
        ['/api/sendText', '243812345602@c.us', 'Ben: Acme fallback'],
      ]);
      // The first 501'd request counts too (it reached WAHA); the worker then sent fallbacks directly.
      expect(await count(`select count(*) as n from session_sends where kind = 'test' and session = 'default'`)).toBe(3);

      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const report = await writeReport(t.ctx(), { testRunId: r.testRun.id }, { format: 'json', out });
      expect(report).toMatchObject({ kind: 'testRun', id: r.testRun.id, rows: 2 });
      expect(Buffer.concat(chunks).toString('utf8')).toContain('243812345601@c.us');
    } finally {
      await sandbox.close();
    }
  });
});
