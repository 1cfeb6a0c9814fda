// Contacts on real Postgres: list filters, summary, finding a contact by id or any form of its
// phone, and suppression / opt-out, which must stop the contact's unsent queue rows in the same
// transaction (promise 4), write one audit row, and write nothing when refused.
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { upsertContactsPage } from '../../src/core/audience/contact-upsert.js';
import { toContactInput } from '../../src/core/audience/crm-user.js';
import type { ContactInput } from '../../src/core/audience/crm-user.js';
import {
  contactsSummary,
  listContacts,
  optInContact,
  optOutContact,
  resolveContact,
  showContact,
  suppressContact,
  unsuppressContact,
} from '../../src/core/contacts/contact.service.js';
import { skipPendingRowsOfNumber } from '../../src/core/contacts/skip-pending-rows.js';
import { CampaignError } from '../../src/core/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

function contact(id: number, phone: unknown, brands: string[], name: string | null = `Person ${id}`, extra: Record<string, unknown> = {}): ContactInput {
  const m = toContactInput({ id, name, phone, city: 'Kinshasa', source: 'store', store_id: null, brand: null, updated_at: '2026-01-01T00:00:00Z', registrations: brands, ...extra });
  if (!m.ok) throw new Error('bad fixture');
  return m.contact;
}

async function seed(rows: ContactInput[]): Promise<Map<string, number>> {
  await t.pool.query('delete from send_queue; delete from queue_exclusions; delete from campaigns; delete from contacts; delete from number_blocks');
  await upsertContactsPage(t.db, rows, new Date('2026-01-02T00:00:00Z'));
  const r = await t.pool.query<{ id: string; crm_id: string }>('select id, crm_id from contacts');
  return new Map(r.rows.map((x) => [x.crm_id, Number(x.id)]));
}

async function campaign(name: string, status = 'RUNNING'): Promise<number> {
  const r = await t.pool.query<{ id: string }>(
    `insert into campaigns (name, brand, status, template_mode, template_json, message_type, content_hash, approved_content_hash, approved_at)
     values ($1, 'vaseline', $2, 'simple', '{}', 'text', 'h', 'h', now()) returning id`,
    [name, status],
  );
  return Number(r.rows[0]!.id);
}

async function queueRow(campaignId: number, contactId: number, status: string): Promise<number> {
  const r = await t.pool.query<{ id: string }>(
    `insert into send_queue (campaign_id, contact_id, chat_id, status, message_type, endpoint, rendered_payload)
     select $1, id, chat_id, $3, 'text', '/api/sendText', '{}' from contacts where id = $2 returning id`,
    [campaignId, contactId, status],
  );
  return Number(r.rows[0]!.id);
}

async function statuses(contactId: number): Promise<Array<[number, string, string | null]>> {
  const r = await t.pool.query('select campaign_id, status, skip_reason from send_queue where contact_id = $1 order by campaign_id', [contactId]);
  return r.rows.map((x) => [Number(x.campaign_id), x.status, x.skip_reason]);
}

async function audits(action?: string): Promise<Array<Record<string, any>>> {
  const r = await t.pool.query(`select * from admin_activity ${action ? 'where action = $1' : ''} order by id`, action ? [action] : []);
  return r.rows;
}

const PEOPLE = (): ContactInput[] => [
  contact(1, '+243 81 234 5678', ['vaseline', 'pepsodent'], 'Alice Mbuyi'),
  contact(2, '0812345679', ['vaseline'], 'Bob 100% Kabila'),
  contact(3, '919876543210', ['vaseline'], 'Carl'), // invalid: foreign number without +
  contact(4, '0812345670', ['pepsodent'], 'Dan'),
  contact(5, null, ['lifebuoy'], null),
];

describe('list and summary', () => {
  let ids: Map<string, number>;
  beforeEach(async () => {
    ids = await seed(PEOPLE());
    await t.pool.query(`update contacts set suppressed = true, suppressed_reason = 'x' where crm_id = '2'`);
    await t.pool.query(`update contacts set opted_out = true where crm_id in ('2', '4')`);
  });

  it('filters by brand, validity, suppressed, opted out and a literal search; pages with a total', async () => {
    const crmIds = async (input: Parameters<typeof listContacts>[1]) => (await listContacts(t.ctx(), input)).contacts.map((c) => c.crmId);
    expect(await crmIds({})).toEqual(['1', '2', '3', '4', '5']);
    expect(await crmIds({ brand: 'vaseline' })).toEqual(['1', '2', '3']);
    expect(await crmIds({ brand: 'pepsodent', validity: 'valid' })).toEqual(['1', '4']);
    expect(await crmIds({ validity: 'invalid' })).toEqual(['3', '5']);
    expect(await crmIds({ suppressed: true })).toEqual(['2']);
    expect(await crmIds({ suppressed: false, optedOut: false })).toEqual(['1', '3', '5']);
    expect(await crmIds({ optedOut: true })).toEqual(['2', '4']);
    expect(await crmIds({ search: 'mbuyi' })).toEqual(['1']);
    expect(await crmIds({ search: '100%' })).toEqual(['2']);
    expect(await crmIds({ search: '%' })).toEqual(['2']);
    expect(await crmIds({ search: '812345679' })).toEqual(['2']);
    const page = await listContacts(t.ctx(), { limit: 2, offset: 2 });
    expect(page).toMatchObject({ total: 5, limit: 2, offset: 2 });
    expect(page.contacts.map((c) => c.crmId)).toEqual(['3', '4']);
    expect(page.contacts[0]).toMatchObject({ phoneValid: false, phoneInvalidReason: expect.stringMatching(/not a valid number/), chatId: null, brands: ['vaseline'] });
    expect(ids.size).toBe(5);
  });

  it('a bad filter is a usage error naming the field', async () => {
    const err = await listContacts(t.ctx(), { limit: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(CampaignError);
    expect(err.code).toBe('USAGE');
    expect(err.message).toContain('limit');
    const v = await listContacts(t.ctx(), { validity: 'maybe' as never }).catch((e) => e);
    expect(v.message).toContain('validity');
  });

  it('summary: totals, per brand, per validity, suppressed, opted out, reachable, invalid reasons', async () => {
    const s = await contactsSummary(t.ctx());
    expect(s).toMatchObject({ total: 5, validity: { valid: 3, invalid: 2 }, suppressed: 1, optedOut: 2, reachable: 1 });
    expect(s.brands).toEqual([
      { brand: 'lifebuoy', total: 1, valid: 0, invalid: 1, suppressed: 0, optedOut: 0, reachable: 0 },
      { brand: 'pepsodent', total: 2, valid: 2, invalid: 0, suppressed: 0, optedOut: 1, reachable: 1 },
      { brand: 'vaseline', total: 3, valid: 2, invalid: 1, suppressed: 1, optedOut: 1, reachable: 1 },
    ]);
    expect(s.invalidReasons).toHaveLength(2);
    expect(s.invalidReasons.map((r) => r.reason)).toEqual(expect.arrayContaining(['no phone number', expect.stringMatching(/not a valid number/)]));
  });
});

describe('finding a contact', () => {
  let ids: Map<string, number>;
  beforeEach(async () => {
    ids = await seed(PEOPLE());
  });

  it('by id, #id, and any form of the phone; an invalid phone by its raw text', async () => {
    const alice = ids.get('1')!;
    for (const ref of [String(alice), `#${alice}`, '+243812345678', '0812345678', '+243 81 234 5678', '00243812345678', '243812345678']) {
      expect((await resolveContact(t.db, ref)).crmId, ref).toBe('1');
    }
    expect((await resolveContact(t.db, '919876543210')).crmId).toBe('3');
    const shown = await showContact(t.ctx(), '0812345679');
    expect(shown.contact).toMatchObject({ crmId: '2', name: 'Bob 100% Kabila', chatId: '243812345679@c.us', brands: ['vaseline'] });
    expect(shown.queue).toEqual([]);
  });

  it('unknown is CONTACT_NOT_FOUND (exit 4); two contacts on one chat id is AMBIGUOUS_REFERENCE', async () => {
    const e = await resolveContact(t.db, '+243899999999').catch((x) => x);
    expect(e.code).toBe('CONTACT_NOT_FOUND');
    expect(e.exitCode).toBe(4);
    expect(e.message).toContain('+243899999999');
    expect((await resolveContact(t.db, '#999999').catch((x) => x)).code).toBe('CONTACT_NOT_FOUND');
    await upsertContactsPage(t.db, [contact(6, '0812345678', ['vaseline'], 'Alice again')], new Date());
    const amb = await resolveContact(t.db, '+243812345678').catch((x) => x);
    expect(amb.code).toBe('AMBIGUOUS_REFERENCE');
    expect(amb.message).toMatch(/#\d+ Alice Mbuyi.*#\d+ Alice again/);
    expect((await resolveContact(t.db, `#${ids.get('1')}`)).crmId).toBe('1');
  });
});

describe('suppress and opt-out stop unsent rows (promise 4)', () => {
  let bob: number;
  let c1: number;
  let c2: number;
  let c3: number;
  beforeEach(async () => {
    const ids = await seed(PEOPLE());
    bob = ids.get('2')!;
    c1 = await campaign('one');
    c2 = await campaign('two', 'PAUSED');
    c3 = await campaign('three');
    await queueRow(c1, bob, 'PENDING');
    await queueRow(c2, bob, 'PAUSED');
    await queueRow(c3, bob, 'SENT_API_ACCEPTED');
    await queueRow(c1, ids.get('1')!, 'PENDING');
  });

  it('suppress: flag, reason, PENDING and PAUSED rows SKIPPED with reason suppressed, sent rows untouched, one audit row', async () => {
    const before = (await audits()).length;
    const r = await suppressContact(t.ctx({ actor: 'ops-anna' }), '0812345679', '  complained by phone  ');
    expect(r).toMatchObject({ action: 'suppress', changed: true, skippedRows: 2, campaignIds: [c1, c2] });
    expect(r.contact).toMatchObject({ suppressed: true, suppressedReason: 'complained by phone', suppressedAt: expect.any(String) });
    expect(await statuses(bob)).toEqual([
      [c1, 'SKIPPED', 'suppressed'],
      [c2, 'SKIPPED', 'suppressed'],
      [c3, 'SENT_API_ACCEPTED', null],
    ]);
    const other = await t.pool.query(`select status from send_queue where contact_id <> $1`, [bob]);
    expect(other.rows.map((x) => x.status)).toEqual(['PENDING']);
    const a = (await audits()).slice(before);
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ actor: 'ops-anna', entity_type: 'contact', entity_id: String(bob) });
    expect(a[0]!.details).toMatchObject({ reason: 'complained by phone', skippedRows: 2, campaignIds: [c1, c2], crmId: '2' });
    expect((await audits()).length).toBe(before + 1);

    // Again with the same reason: nothing to do, nothing audited.
    const again = await suppressContact(t.ctx(), String(bob), 'complained by phone');
    expect(again).toMatchObject({ changed: false, skippedRows: 0 });
    expect((await audits()).length).toBe(before + 1);
  });

  it('suppress without a reason is refused naming --reason, and writes nothing', async () => {
    const before = (await audits()).length;
    for (const reason of [undefined, '', '   ']) {
      const e = await suppressContact(t.ctx(), String(bob), reason).catch((x) => x);
      expect(e.code).toBe('VALIDATION_FAILED');
      expect(e.message).toContain('reason');
      expect(e.message).toContain('--reason');
    }
    expect((await t.pool.query('select suppressed from contacts where id = $1', [bob])).rows[0].suppressed).toBe(false);
    expect((await statuses(bob)).map((s) => s[1])).toEqual(['PENDING', 'PAUSED', 'SENT_API_ACCEPTED']);
    expect(await audits()).toHaveLength(before);
    const notFound = await suppressContact(t.ctx(), '+243899999999', 'x').catch((x) => x);
    expect(notFound.code).toBe('CONTACT_NOT_FOUND');
    expect(await audits()).toHaveLength(before);
  });

  it('unsuppress lifts the flag (audited) but skipped rows stay skipped', async () => {
    const before = (await audits('contact.unsuppress')).length;
    await suppressContact(t.ctx(), String(bob), 'test');
    const r = await unsuppressContact(t.ctx(), String(bob), 'resolved');
    expect(r).toMatchObject({ action: 'unsuppress', changed: true, contact: { suppressed: false, suppressedReason: null } });
    expect((await statuses(bob)).map((s) => s[1])).toEqual(['SKIPPED', 'SKIPPED', 'SENT_API_ACCEPTED']);
    expect((await audits('contact.unsuppress')).at(-1)!.details).toMatchObject({ reason: 'resolved' });
    expect(await unsuppressContact(t.ctx(), String(bob), 'again')).toMatchObject({ changed: false });
    expect(await audits('contact.unsuppress')).toHaveLength(before + 1);
    expect((await unsuppressContact(t.ctx(), String(bob), '').catch((x) => x)).code).toBe('VALIDATION_FAILED');
  });

  it('opt-out: flag with source operator, rows SKIPPED with reason opted_out; opt-in clears the flag', async () => {
    const before = (await audits()).length;
    const r = await optOutContact(t.ctx(), '+243812345679');
    expect(r).toMatchObject({ action: 'opt_out', changed: true, skippedRows: 2, contact: { optedOut: true, optedOutSource: 'operator', optedOutAt: expect.any(String) } });
    expect(await statuses(bob)).toEqual([
      [c1, 'SKIPPED', 'opted_out'],
      [c2, 'SKIPPED', 'opted_out'],
      [c3, 'SENT_API_ACCEPTED', null],
    ]);
    expect(await optOutContact(t.ctx(), String(bob))).toMatchObject({ changed: false });
    const back = await optInContact(t.ctx(), String(bob));
    expect(back).toMatchObject({ action: 'opt_in', changed: true, contact: { optedOut: false, optedOutAt: null, optedOutSource: null } });
    expect((await audits()).slice(before).map((a) => a.action)).toEqual(['contact.opt_out', 'contact.opt_in']);
    expect((await showContact(t.ctx(), String(bob))).queue.map((q) => [q.campaignId, q.status, q.skipReason])).toEqual([
      [c3, 'SENT_API_ACCEPTED', null],
      [c2, 'SKIPPED', 'opted_out'],
      [c1, 'SKIPPED', 'opted_out'],
    ]);
  });

  it('a row a worker holds is left to the worker, which then sees the opt-out; no deadlock, no wait', async () => {
    const held = Number((await t.pool.query(`select id from send_queue where contact_id = $1 and campaign_id = $2`, [bob, c1])).rows[0].id);
    const worker = new pg.Client({ connectionString: t.url });
    await worker.connect();
    try {
      await worker.query('begin');
      // What the claim does: lock the queue row first, then read the number FOR SHARE.
      await worker.query('select id from send_queue where id = $1 for update', [held]);
      const started = Date.now();
      const r = await optOutContact(t.ctx(), String(bob));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(r.skippedRows).toBe(1);
      const seen = await worker.query(`select n.opted_out from number_blocks n join contacts c on c.chat_id = n.chat_id where c.id = $1 for share of n`, [bob]);
      expect(seen.rows[0].opted_out).toBe(true);
      await worker.query('rollback');
    } finally {
      await worker.end();
    }
    expect(await statuses(bob)).toEqual([
      [c1, 'PENDING', null],
      [c2, 'SKIPPED', 'opted_out'],
      [c3, 'SENT_API_ACCEPTED', null],
    ]);
  });

  it('skipPendingRowsOfNumber works inside a caller transaction (the webhook uses it)', async () => {
    const now = new Date('2026-03-01T12:00:00Z');
    const chatId = '243812345679@c.us';
    const r = await t.db.transaction().execute((trx) => skipPendingRowsOfNumber(trx, { chatId }, 'opted_out', now));
    expect(r).toEqual({ count: 2, campaignIds: [c1, c2], testRows: 0, testRunIds: [] });
    const rows = await t.pool.query(`select updated_at from send_queue where contact_id = $1 and status = 'SKIPPED'`, [bob]);
    expect(rows.rows.every((x) => x.updated_at.getTime() === now.getTime())).toBe(true);
    expect(await t.db.transaction().execute((trx) => skipPendingRowsOfNumber(trx, { chatId, contactId: bob }, 'opted_out', now))).toEqual({ count: 0, campaignIds: [], testRows: 0, testRunIds: [] });
  });

  it('a suppressed contact stays suppressed across a re-import with changed CRM data', async () => {
    await suppressContact(t.ctx(), String(bob), 'complaint');
    await optOutContact(t.ctx(), String(bob));
    await upsertContactsPage(t.db, [contact(2, '0812345679', ['vaseline', 'lifebuoy'], 'Bob Renamed')], new Date());
    const c = (await showContact(t.ctx(), String(bob))).contact;
    expect(c).toMatchObject({ name: 'Bob Renamed', brands: ['lifebuoy', 'vaseline'], suppressed: true, suppressedReason: 'complaint', optedOut: true });
  });
});

describe('promise 4: the block is the number\'s, and every surface says so', () => {
  let alice: number;
  let again: number;
  beforeEach(async () => {
    const ids = await seed([...PEOPLE(), contact(6, '0812345678', ['pepsodent'], 'Alice again')]);
    alice = ids.get('1')!;
    again = ids.get('6')!;
  });

  it('contacts show names the blocked number, why, and the row it came through; the clean duplicate says it is blocked through it', async () => {
    await suppressContact(t.ctx({ actor: 'ops-anna' }), `#${alice}`, 'asked by phone not to be contacted');
    const own = await showContact(t.ctx(), `#${alice}`);
    expect(own.number).toMatchObject({ chatId: '243812345678@c.us', blocked: true, suppressed: { reason: 'asked by phone not to be contacted', throughContact: { id: alice } }, optedOut: null });
    expect(own.number!.contacts.map((h) => h.id)).toEqual([alice, again]);
    expect(own.contact).toMatchObject({ suppressed: true, ownRecord: { suppressed: true }, blockedThroughNumber: false });

    const dup = await showContact(t.ctx(), `#${again}`);
    expect(dup.contact).toMatchObject({ suppressed: true, suppressedReason: 'asked by phone not to be contacted', ownRecord: { suppressed: false }, blockedThroughNumber: true });
    expect(dup.number!.explanation).toEqual([
      expect.stringMatching(new RegExp(`^Number 243812345678@c\\.us is suppressed since .* through contact #${alice} Alice Mbuyi: asked by phone not to be contacted\\.$`)),
      `This contact's own record is clean: it is blocked because contact #${alice} Alice Mbuyi has the same number.`,
    ]);
    // An invalid phone has no number to bind to.
    expect((await showContact(t.ctx(), '919876543210')).number).toBeNull();
  });

  it('list filters and the summary count a contact blocked through its number', async () => {
    await optOutContact(t.ctx(), `#${alice}`);
    const opted = await listContacts(t.ctx(), { optedOut: true });
    expect(opted.contacts.map((c) => c.id)).toEqual([alice, again]);
    expect(opted.contacts[1]).toMatchObject({ optedOut: true, optedOutSource: 'operator', blockedThroughNumber: true });
    expect((await listContacts(t.ctx(), { optedOut: false, validity: 'valid' })).contacts.map((c) => c.crmId)).toEqual(['2', '4']);
    const s = await contactsSummary(t.ctx());
    expect(s).toMatchObject({ total: 6, optedOut: 2, reachable: 2 });
    expect(s.brands.find((b) => b.brand === 'pepsodent')).toMatchObject({ total: 3, optedOut: 2, reachable: 1 });
  });

  it('unsuppress and opt-in on either row lift it for the number (both rows), are audited with the number, and say so', async () => {
    await suppressContact(t.ctx(), `#${alice}`, 'complaint');
    const before = (await audits('contact.unsuppress')).length;
    const r = await unsuppressContact(t.ctx(), `#${again}`, 'complaint resolved');
    expect(r).toMatchObject({ changed: true, number: { chatId: '243812345678@c.us', contactIds: [alice, again], testUserIds: [] } });
    expect(r.note).toBe(`The suppression of number 243812345678@c.us is lifted for every contact with it (#${alice}, #${again}).`);
    const a = (await audits('contact.unsuppress')).slice(before);
    expect(a).toHaveLength(1);
    expect(a[0]!.details).toMatchObject({ chatId: '243812345678@c.us', numberContactIds: [alice, again] });
    expect((await t.pool.query('select suppressed from contacts where id = any($1) order by id', [[alice, again]])).rows.map((x) => x.suppressed)).toEqual([false, false]);
    expect((await showContact(t.ctx(), `#${alice}`)).number).toMatchObject({ blocked: false, explanation: [] });
  });

  it('a re-import that moves a suppressed contact to another number blocks the new number too', async () => {
    await suppressContact(t.ctx(), `#${alice}`, 'complaint');
    await upsertContactsPage(t.db, [contact(1, '0812345670', ['vaseline', 'pepsodent'], 'Alice Mbuyi')], new Date('2026-02-01T00:00:00Z'));
    // Dan (crm 4) has that number: he is the same person now.
    const danId = Number((await t.pool.query(`select id from contacts where crm_id = '4'`)).rows[0].id);
    const dan = (await showContact(t.ctx(), `#${danId}`)).contact;
    expect(dan).toMatchObject({ crmId: '4', suppressed: true, blockedThroughNumber: true, ownRecord: { suppressed: false } });
    const blocks = await t.pool.query(`select chat_id, suppressed from number_blocks where chat_id in ('243812345678@c.us', '243812345670@c.us') order by chat_id`);
    expect(blocks.rows).toEqual([{ chat_id: '243812345670@c.us', suppressed: true }, { chat_id: '243812345678@c.us', suppressed: true }]);
  });
});
