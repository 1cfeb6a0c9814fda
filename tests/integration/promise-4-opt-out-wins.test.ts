// promise 4 (DESIGN.md): opt-out and suppression win. They bind to the WhatsApp number (the chat
// id), not to one contact row, and are checked at claim time right before the send, in campaigns
// and test runs alike. Each test tries a neighbour of the tested path: a CRM duplicate of the
// number, a test user with the number, another engine's spelling of the chat id, a hidden LID, a
// block written while a worker is claiming, a suppression during a running campaign, a contact
// imported after the opt-out, START. Real Postgres, the real claim and worker, the real sandbox.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { upsertContactsPage } from '../../src/core/audience/contact-upsert.js';
import { toContactInput } from '../../src/core/audience/crm-user.js';
import { startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { FakeClock } from '../../src/core/clock.js';
import { listContacts, optInContact, optOutContact, showContact, suppressContact, unsuppressContact } from '../../src/core/contacts/contact.service.js';
import type { Context } from '../../src/core/context.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { listExclusions } from '../../src/core/queue/queue-report.js';
import { getSettings, updateSettings } from '../../src/core/settings/settings.service.js';
import { addTestListMembers, createTestList } from '../../src/core/test-lists/test-list.service.js';
import { startTestRun } from '../../src/core/test-runs/index.js';
import { addTestUser } from '../../src/core/test-users/test-user.service.js';
import { createWahaClient } from '../../src/core/waha/index.js';
import { ingestWahaEvent } from '../../src/core/webhooks/ingest-waha-event.js';
import { claimNext } from '../../src/core/worker/claim-next.js';
import { runWorker, type WorkerPorts } from '../../src/core/worker/run-worker.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/index.js';
import { drcContact } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const MONDAY_NOON = '2026-03-02T12:00:00Z';
const FAST = {
  daily_limit: 1000, hourly_limit: 1000, delay_min_seconds: 0, delay_max_seconds: 0, pause_after_sends: 1000, pause_min_minutes: 0, pause_max_minutes: 0,
  sending_window_start: '00:00', sending_window_end: '23:59', sending_days: [1, 2, 3, 4, 5, 6, 7], timezone: 'UTC', poll_interval_seconds: 1, max_attempts: 3,
};

const clock = new FakeClock(MONDAY_NOON);
let t: TestDatabase;
let ctx: Context;
let testNo = 0;
let seq = 0;
let session = 's0';
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  t = await createTestDatabase({ clock });
  ctx = t.ctx();
  await updateSettings(ctx, FAST);
});
afterAll(async () => t?.drop());
beforeEach(() => {
  clock.set(MONDAY_NOON);
  session = `s${++testNo}`;
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  await sql`update campaigns set status = 'CANCELLED' where status in ('RUNNING', 'PAUSED')`.execute(t.db);
  await sql`update campaign_test_runs set status = 'CANCELLED' where status in ('RUNNING', 'PAUSED')`.execute(t.db);
});

/** A fresh valid DRC number, `2438xxxxxxxx@c.us`. */
const newNumber = () => `2438${String(20_000_000 + seq++).slice(-8)}@c.us`;
const digits = (chat: string) => chat.split('@')[0]!;

async function contactWith(chat: string, brand: string, name = `Person ${seq}`): Promise<number> {
  const c = drcContact(0, { name, first_name: name.split(' ')[0]!, brand, crm_id: `crm-${seq++}` });
  const row = await t.db.insertInto('contacts').values({ ...c, chat_id: chat, phone_raw: `+${digits(chat)}` }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** A campaign of `brand` on this test's session, approved, queued and RUNNING. */
async function running(brand: string): Promise<number> {
  const { campaign } = await createCampaign(ctx, { name: `c${seq++}`, brand, session, template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } });
  await approveCampaign(ctx, String(campaign.id));
  await buildQueue(ctx, String(campaign.id));
  await startCampaign(ctx, String(campaign.id));
  return campaign.id;
}

/** A RUNNING test run of a DRAFT campaign on this session, to test users with these numbers. */
async function testRunTo(chats: string[]): Promise<{ runId: number; warnings: string[] }> {
  const { campaign } = await createCampaign(ctx, { name: `draft${seq++}`, brand: `tb${seq}`, session, template: { mode: 'simple', type: 'text', text: 'Test {{first_name}}' } });
  const list = `qa${seq++}`;
  await createTestList(ctx, { name: list });
  const names: string[] = [];
  for (const chat of chats) {
    const name = `Tester ${seq++}`;
    await addTestUser(ctx, { name, phone: `+${digits(chat)}` });
    names.push(name);
  }
  await addTestListMembers(ctx, list, names);
  const r = await startTestRun(ctx, String(campaign.id), list);
  return { runId: r.testRun.id, warnings: r.warnings };
}

const queueRows = (chat: string) =>
  t.db.selectFrom('send_queue').select(['id', 'campaign_id', 'contact_id', 'status', 'skip_reason']).where('chat_id', '=', chat).orderBy('id').execute();
const testRows = (chat: string) =>
  t.db.selectFrom('campaign_test_run_recipients').select(['id', 'test_run_id', 'status', 'skip_reason']).where('chat_id', '=', chat).orderBy('id').execute();

async function sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const s = await startSandbox({ port: 0, seed: 4000 + testNo, sessions: [session], ...options });
  cleanups.push(() => s.close());
  return s;
}

function work(waha: WorkerPorts['waha']) {
  return runWorker(ctx, { waha, resolveMedia: async (p) => p, rng: () => 0.5 }, { once: true, name: 'w-p4', version: 'test', stop: new AbortController().signal, maintenanceMs: 0 });
}

const sentTo = (s: Sandbox) => s.messages.filter((m) => m.fromMe).map((m) => m.chatId);

let evt = 0;
function envelope(engine: string, event: string, payload: Record<string, unknown>): string {
  return JSON.stringify({ id: `evt_p4_${testNo}_${evt++}`, timestamp: clock.now().getTime(), event, session, engine, me: { id: '243800000000@c.us' }, payload });
}
const raw = () => `3EB0${String(seq++).padStart(18, '0')}`;

describe('promise 4: two CRM contacts with one number are one person', () => {
  it('opting out one stops every pending row of the number, in every campaign and test run, and the worker never sends to it', async () => {
    const n = newNumber();
    const other = newNumber();
    const a = await contactWith(n, `bA${testNo}`, 'Alice Mbuyi');
    const b = await contactWith(n, `bB${testNo}`, 'Alice M. (duplicate)');
    await contactWith(other, `bA${testNo}`, 'Carl');
    const cA = await running(`bA${testNo}`);
    const cB = await running(`bB${testNo}`);
    const tester = newNumber();
    const { runId } = await testRunTo([n, tester]);

    const r = await optOutContact(ctx, `#${a}`);
    expect(r).toMatchObject({ changed: true, skippedRows: 2, campaignIds: [cA, cB], skippedTestRows: 1, testRunIds: [runId] });
    expect(r.number).toEqual({ chatId: n, contactIds: [a, b], testUserIds: [expect.any(Number)] });
    expect(r.note).toContain(`Number ${n} is opted out`);
    expect((await queueRows(n)).map((x) => [x.contact_id, x.status, x.skip_reason])).toEqual([[a, 'SKIPPED', 'opted_out'], [b, 'SKIPPED', 'opted_out']]);
    expect((await testRows(n)).map((x) => [x.status, x.skip_reason])).toEqual([['SKIPPED', 'opted_out']]);
    // The duplicate's own row is clean, yet it stands opted out through its number.
    const dup = (await showContact(ctx, `#${b}`)).contact;
    expect(dup).toMatchObject({ optedOut: true, ownRecord: { optedOut: false }, blockedThroughNumber: true });

    const s = await sandbox();
    await work(createWahaClient({ baseUrl: s.url, timeoutMs: 2000 }));
    expect(sentTo(s).sort()).toEqual([other, tester].sort());
  });

  it('a block written on one row by any path (SQL, no rows skipped) is caught at claim time for the other row and the test user', async () => {
    const n = newNumber();
    const a = await contactWith(n, `bA${testNo}`);
    const b = await contactWith(n, `bB${testNo}`);
    await running(`bA${testNo}`);
    const cB = await running(`bB${testNo}`);
    await testRunTo([n]);
    // The row's flag binds its number in the same transaction (trigger contacts_block_number).
    await t.db.updateTable('contacts').set({ suppressed: true, suppressed_reason: 'asked by phone', suppressed_at: clock.now() }).where('id', '=', a).execute();
    expect((await queueRows(n)).every((x) => x.status === 'PENDING')).toBe(true);

    const s = await sandbox();
    await work(createWahaClient({ baseUrl: s.url, timeoutMs: 2000 }));
    expect(sentTo(s)).not.toContain(n);
    expect((await queueRows(n)).map((x) => [x.contact_id, x.status, x.skip_reason])).toEqual([[a, 'SKIPPED', 'suppressed'], [b, 'SKIPPED', 'suppressed']]);
    expect((await testRows(n)).map((x) => [x.status, x.skip_reason])).toEqual([['SKIPPED', 'suppressed']]);
    const events = await t.db.selectFrom('worker_events').select(['event', 'queue_id', 'test_recipient_id', 'reason']).where('waha_session', '=', session).where('status', '=', 'SKIPPED').execute();
    expect(events).toHaveLength(3);
    expect(events.every((e) => e.reason === 'number is suppressed')).toBe(true);
    expect(events.filter((e) => e.test_recipient_id !== null)).toHaveLength(1);
    // Both runs finish: nothing is left PENDING behind a blocked number.
    expect((await t.db.selectFrom('campaigns').select('status').where('id', '=', cB).executeTakeFirstOrThrow()).status).toBe('COMPLETED');
  });

  it('a suppression during a running campaign: nothing more goes to the number, from any row', async () => {
    const n = newNumber();
    const fillers = [newNumber(), newNumber(), newNumber()];
    for (const f of fillers) await contactWith(f, `bA${testNo}`);
    const a = await contactWith(n, `bA${testNo}`);
    await contactWith(n, `bB${testNo}`);
    await running(`bA${testNo}`);
    await running(`bB${testNo}`);
    const s = await sandbox();
    const waha = createWahaClient({ baseUrl: s.url, timeoutMs: 2000 });
    let calls = 0;
    const suppressing = {
      async send(endpoint: string, body: Record<string, unknown>) {
        if (calls++ === 0) await suppressContact(ctx, `#${a}`, 'complained during the campaign');
        return waha.send(endpoint, body);
      },
    };
    await work(suppressing as unknown as WorkerPorts['waha']);
    expect(sentTo(s).sort()).toEqual(fillers.sort());
    expect((await queueRows(n)).map((x) => x.status)).toEqual(['SKIPPED', 'SKIPPED']);
  });
});

describe('promise 4: an inbound STOP binds the number, in any engine spelling', () => {
  const variants: Array<[string, (chat: string) => Record<string, unknown>]> = [
    ['WEBJS @c.us', (chat) => ({ id: `false_${chat}_${raw()}`, from: chat, fromMe: false, to: '243800000000@c.us', body: 'STOP' })],
    ['NOWEB/GOWS @s.whatsapp.net in the id', (chat) => ({ id: `false_${digits(chat)}@s.whatsapp.net_${raw()}`, from: `${digits(chat)}@s.whatsapp.net`, fromMe: false, body: 'Stop' })],
    ['GOWS device suffix, no id', (chat) => ({ from: `${digits(chat)}:12@s.whatsapp.net`, fromMe: false, body: 'ARRÊT' })],
  ];
  for (const [name, payload] of variants) {
    it(`${name}: both contacts opted out, every pending row of the number stopped (campaigns and test run)`, async () => {
      const n = newNumber();
      const a = await contactWith(n, `bA${testNo}`);
      const b = await contactWith(n, `bB${testNo}`);
      await running(`bA${testNo}`);
      await running(`bB${testNo}`);
      await testRunTo([n]);
      const r = await ingestWahaEvent(ctx, envelope('GOWS', 'message', payload(n)));
      expect(r.error ?? null).toBeNull();
      expect((await queueRows(n)).map((x) => x.status)).toEqual(['SKIPPED', 'SKIPPED']);
      expect((await testRows(n)).map((x) => x.status)).toEqual(['SKIPPED']);
      const rows = await t.db.selectFrom('contacts').select(['id', 'opted_out', 'opted_out_source']).where('id', 'in', [a, b]).orderBy('id').execute();
      expect(rows.map((x) => [x.opted_out, x.opted_out_source])).toEqual([[true, 'keyword'], [true, 'keyword']]);
      const number = await t.db.selectFrom('number_blocks').selectAll().where('chat_id', '=', n).executeTakeFirstOrThrow();
      expect(number).toMatchObject({ opted_out: true, opted_out_source: 'keyword', opted_out_contact_id: null });
    });
  }

  it('from a hidden LID: mapped to the number through an ack of our own message with that LID; an unknown LID is blocked itself and the operator told', async () => {
    const n = newNumber();
    await contactWith(n, `bA${testNo}`);
    await contactWith(n, `bB${testNo}`);
    const cA = await running(`bA${testNo}`);
    const s = await sandbox();
    await work(createWahaClient({ baseUrl: s.url, timeoutMs: 2000 }));
    const sent = await t.db.selectFrom('send_queue').select(['waha_raw_id']).where('campaign_id', '=', cA).executeTakeFirstOrThrow();
    expect(sent.waha_raw_id).toBeTruthy();
    // WhatsApp addressed the chat by LID: the ack of our message names the LID chat (contract §7.8).
    await ingestWahaEvent(ctx, envelope('GOWS', 'message.ack', { id: `true_777000111@lid_${sent.waha_raw_id}`, from: '777000111@lid', fromMe: true, ack: 3 }));
    await running(`bB${testNo}`);
    await testRunTo([n]);
    const r = await ingestWahaEvent(ctx, envelope('GOWS', 'message', { id: `false_777000111@lid_${raw()}`, from: '777000111@lid', fromMe: false, body: 'STOP' }));
    expect(r.error ?? null).toBeNull();
    expect((await queueRows(n)).map((x) => x.status)).toEqual(['READ', 'SKIPPED']);
    expect((await testRows(n)).map((x) => x.status)).toEqual(['SKIPPED']);
    expect((await t.db.selectFrom('number_blocks').select('opted_out').where('chat_id', '=', n).executeTakeFirstOrThrow()).opted_out).toBe(true);

    await ingestWahaEvent(ctx, envelope('GOWS', 'message', { id: `false_999000222@lid_${raw()}`, from: '999000222@lid', fromMe: false, body: 'STOP' }));
    expect((await t.db.selectFrom('number_blocks').select('opted_out').where('chat_id', '=', '999000222@lid').executeTakeFirstOrThrow()).opted_out).toBe(true);
    const note = await t.db.selectFrom('notifications').selectAll().where('title', 'like', '999000222@lid%').executeTakeFirstOrThrow();
    expect(note.level).toBe('warning');
    expect(note.body).toContain('campaign contacts opt-out');
  });
});

describe('promise 4: an opt-out committing while a worker claims', () => {
  it('an opt-out in progress is waited for by the claim, then the row is SKIPPED (campaign row and test row)', async () => {
    const n = newNumber();
    await contactWith(n, `bA${testNo}`);
    await running(`bA${testNo}`);
    await testRunTo([n]);
    const settings = await getSettings(ctx.db);
    const optOut = new pg.Client({ connectionString: t.url });
    await optOut.connect();
    try {
      await optOut.query('begin');
      await optOut.query(`update number_blocks set opted_out = true, opted_out_source = 'operator', opted_out_at = now() where chat_id = $1`, [n]);
      let settled = false;
      const claim = claimNext(ctx, session, { worker: 'w', settings, rng: () => 0.5 }).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 400));
      expect(settled, 'the claim must wait for the opt-out holding the number').toBe(false);
      await optOut.query('commit');
      expect((await claim).kind).not.toBe('claimed');
    } finally {
      await optOut.end();
    }
    expect((await queueRows(n)).map((x) => [x.status, x.skip_reason])).toEqual([['SKIPPED', 'opted_out']]);
    expect((await testRows(n)).map((x) => [x.status, x.skip_reason])).toEqual([['SKIPPED', 'opted_out']]);
  });

  it('a claim holding the number is waited for by the opt-out, so a claimed row was claimed before the opt-out committed', async () => {
    const n = newNumber();
    const a = await contactWith(n, `bA${testNo}`);
    await running(`bA${testNo}`);
    const claimer = new pg.Client({ connectionString: t.url });
    await claimer.connect();
    try {
      await claimer.query('begin');
      await claimer.query('select chat_id from number_blocks where chat_id = $1 for share', [n]);
      let settled = false;
      const optingOut = optOutContact(ctx, `#${a}`).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 400));
      expect(settled, 'the opt-out must wait for the claim holding the number').toBe(false);
      await claimer.query('commit');
      expect((await optingOut).skippedRows).toBe(1);
    } finally {
      await claimer.end();
    }
  });

  it('racing the real worker: no row of the number is claimed after the opt-out committed (20 rounds)', async () => {
    for (let round = 0; round < 20; round++) {
      session = `s${testNo}_${round}`;
      const n = newNumber();
      const brands = [0, 1, 2].map((i) => `race${testNo}_${round}_${i}`);
      const ids: number[] = [];
      for (const brand of brands) {
        ids.push(await contactWith(n, brand));
        for (let k = 0; k < 2; k++) await contactWith(newNumber(), brand);
      }
      for (const brand of brands) await running(brand);
      const s = await sandbox({ faults: { latencyMs: [1, 8] } });
      const worker = work(createWahaClient({ baseUrl: s.url, timeoutMs: 2000 }));
      await new Promise((r) => setTimeout(r, round * 3));
      await optOutContact(ctx, `#${ids[round % 3]}`);
      // What was already claimed (SENDING or beyond) when the opt-out committed.
      const claimedBefore = (await queueRows(n)).filter((x) => x.status !== 'PENDING' && x.status !== 'SKIPPED').map((x) => x.id);
      await worker;
      const after = await queueRows(n);
      expect(after.filter((x) => x.status === 'PENDING'), `round ${round}: a row of the number was left PENDING`).toEqual([]);
      expect(after.filter((x) => x.status !== 'SKIPPED').map((x) => x.id).sort(), `round ${round}: a row was claimed after the opt-out committed`).toEqual(claimedBefore.sort());
      expect(sentTo(s).filter((c) => c === n).length).toBe(claimedBefore.length);
      await s.close();
    }
  });
});

describe('promise 4: numbers blocked before the contact exists, and lifting', () => {
  function crmUser(id: number, chat: string, brand: string) {
    const m = toContactInput({ id, name: `Imported ${id}`, phone: `+${digits(chat)}`, city: 'Kinshasa', source: 'store', store_id: null, brand: null, updated_at: '2026-01-01T00:00:00Z', registrations: [brand] });
    if (!m.ok) throw new Error('bad fixture');
    return m.contact;
  }

  it('a contact imported after its number sent STOP is blocked: excluded by the queue build, shown as blocked through its number', async () => {
    const n = newNumber();
    await ingestWahaEvent(ctx, envelope('WEBJS', 'message', { id: `false_${n}_${raw()}`, from: n, fromMe: false, body: 'UNSUBSCRIBE' }));
    const brand = `late${testNo}`;
    await upsertContactsPage(t.db, [crmUser(900_000 + testNo, n, brand)], clock.now());
    const { campaign } = await createCampaign(ctx, { name: `late${seq++}`, brand, session, template: { mode: 'simple', type: 'text', text: 'Hi' } });
    await approveCampaign(ctx, String(campaign.id));
    const built = await buildQueue(ctx, String(campaign.id));
    expect(built).toMatchObject({ queued: 0, excluded: { opted_out: 1 } });
    const ex = await listExclusions(ctx, String(campaign.id));
    expect(ex.exclusions[0]!.detail).toContain(`number ${n} opted out by sending "UNSUBSCRIBE"`);
    const shown = await showContact(ctx, `+${digits(n)}`);
    expect(shown.contact).toMatchObject({ optedOut: true, blockedThroughNumber: true });
    expect(shown.number!.explanation.join(' ')).toContain('the number itself is blocked');
    expect((await listContacts(ctx, { optedOut: true, search: digits(n) })).total).toBe(1);
  });

  it('START lifts the opt-out of the number (every row), and only the opt-out: an operator suppression stays', async () => {
    const n = newNumber();
    const brand = `start${testNo}`;
    const a = await contactWith(n, brand);
    const b = await contactWith(n, `${brand}x`);
    const stop = await ingestWahaEvent(ctx, envelope('WEBJS', 'message', { id: `false_${n}_${raw()}`, from: n, fromMe: false, body: 'STOP' }));
    expect(stop.error ?? null).toBeNull();
    expect((await showContact(ctx, `#${b}`)).contact.optedOut).toBe(true);
    await ingestWahaEvent(ctx, envelope('WEBJS', 'message', { id: `false_${n}_${raw()}`, from: n, fromMe: false, body: 'START' }));
    for (const id of [a, b]) expect((await showContact(ctx, `#${id}`)).contact).toMatchObject({ optedOut: false, suppressed: false });
    expect(await running(brand)).toBeGreaterThan(0);
    expect((await queueRows(n)).map((x) => x.status)).toEqual(['PENDING']);

    // Now an operator suppresses the duplicate; the person sends STOP, then START.
    await suppressContact(ctx, `#${b}`, 'legal request');
    await ingestWahaEvent(ctx, envelope('WEBJS', 'message', { id: `false_${n}_${raw()}`, from: n, fromMe: false, body: 'STOP' }));
    await ingestWahaEvent(ctx, envelope('WEBJS', 'message', { id: `false_${n}_${raw()}`, from: n, fromMe: false, body: 'START' }));
    const shown = await showContact(ctx, `#${a}`);
    expect(shown.contact).toMatchObject({ optedOut: false, suppressed: true, blockedThroughNumber: true });
    expect(shown.number!.explanation.join(' ')).toContain(`through contact #${b}`);
    const { warnings } = await testRunTo([n, newNumber()]);
    expect((await testRows(n)).map((x) => [x.status, x.skip_reason])).toEqual([['SKIPPED', 'suppressed']]);
    expect(warnings.join(' ')).toContain('suppressed through contact');
  });

  it('contacts unsuppress / opt-in on the clean duplicate lift the block for the number and say so', async () => {
    const n = newNumber();
    const a = await contactWith(n, `lift${testNo}`);
    const b = await contactWith(n, `lift${testNo}x`);
    await suppressContact(ctx, `#${a}`, 'complaint');
    await optOutContact(ctx, `#${a}`);
    const un = await unsuppressContact(ctx, `#${b}`, 'complaint resolved');
    expect(un).toMatchObject({ changed: true, contact: { suppressed: false, optedOut: true } });
    expect(un.note).toContain(`The suppression of number ${n} is lifted for every contact with it (#${a}, #${b}); it is still opted out`);
    const back = await optInContact(ctx, `#${b}`);
    expect(back.note).toContain(`The opt-out of number ${n} is lifted`);
    for (const id of [a, b]) expect((await showContact(ctx, `#${id}`)).contact).toMatchObject({ optedOut: false, suppressed: false, ownRecord: { optedOut: false, suppressed: false } });
    expect(await t.db.selectFrom('number_blocks').select(['opted_out', 'suppressed']).where('chat_id', '=', n).executeTakeFirstOrThrow()).toEqual({ opted_out: false, suppressed: false });
  });
});

describe('promise 4: test users are the person behind the number', () => {
  it('a contact suppressed by the CLI blocks a test user with the same number (skipped, with a warning); a list with only blocked numbers is refused', async () => {
    const n = newNumber();
    const a = await contactWith(n, `tu${testNo}`);
    await suppressContact(ctx, `#${a}`, 'asked not to be contacted');
    const ok = newNumber();
    const { runId, warnings } = await testRunTo([n, ok]);
    expect((await testRows(n)).map((x) => [x.test_run_id, x.status, x.skip_reason])).toEqual([[runId, 'SKIPPED', 'suppressed']]);
    expect((await testRows(ok)).map((x) => x.status)).toEqual(['PENDING']);
    expect(warnings.join(' ')).toContain(`(${n}) is skipped: the number suppressed through contact #${a}: asked not to be contacted`);

    const before = Number((await sql<{ n: number }>`select count(*)::int as n from campaign_test_runs`.execute(t.db)).rows[0]!.n);
    const e = await testRunTo([newNumber()]).then(async () => {
      // The list above is fine; now one whose only member's number sent STOP.
      const stopped = newNumber();
      await ingestWahaEvent(ctx, envelope('WEBJS', 'message', { id: `false_${stopped}_${raw()}`, from: stopped, fromMe: false, body: 'STOP' }));
      return testRunTo([stopped]).catch((x) => x);
    });
    expect(e.code).toBe('TEST_LIST_EMPTY');
    expect(e.message).toContain('opted out (sent "STOP" on WhatsApp)');
    expect(Number((await sql<{ n: number }>`select count(*)::int as n from campaign_test_runs`.execute(t.db)).rows[0]!.n)).toBe(before + 1);
  });
});
