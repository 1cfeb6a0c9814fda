// Test users on real Postgres: full international phones only (refused with an example),
// duplicates refused, finding by id / name / phone, edit, activate / deactivate, rm, every
// mutation audited and every refusal writing nothing; and test users never reaching a campaign
// audience (they are not contacts, so neither contacts nor a queue build can see them).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { upsertContactsPage } from '../../src/core/audience/contact-upsert.js';
import { toContactInput } from '../../src/core/audience/crm-user.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { contactsSummary, listContacts } from '../../src/core/contacts/contact.service.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { addTestListMembers, createTestList } from '../../src/core/test-lists/test-list.service.js';
import {
  activateTestUser,
  addTestUser,
  deactivateTestUser,
  editTestUser,
  listTestUsers,
  removeTestUser,
  resolveTestUser,
  showTestUser,
} from '../../src/core/test-users/test-user.service.js';
import { refused } from '../helpers/refused.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});
beforeEach(async () => {
  await t.pool.query('delete from test_list_members; delete from test_lists; delete from test_users');
});

async function auditCount(prefix = 'test_user.'): Promise<number> {
  return Number((await t.pool.query(`select count(*) from admin_activity where action like $1`, [`${prefix}%`])).rows[0].count);
}

async function userCount(): Promise<number> {
  return Number((await t.pool.query('select count(*) from test_users')).rows[0].count);
}

describe('adding', () => {
  it('a full international phone becomes a chat id; the user is active and audited', async () => {
    const audits = await auditCount();
    const r = await addTestUser(t.ctx({ actor: 'qa-lead' }), { name: ' Asha ', phone: '+91 98765 43210', notes: 'Pixel 8, WEBJS' });
    expect(r.testUser).toMatchObject({ name: 'Asha', phone: '+91 98765 43210', chatId: '919876543210@c.us', active: true, notes: 'Pixel 8, WEBJS', lists: [] });
    expect(await auditCount()).toBe(audits + 1);
    const row = (await t.pool.query(`select * from admin_activity where action = 'test_user.add' order by id desc limit 1`)).rows[0];
    expect(row).toMatchObject({ actor: 'qa-lead', entity_type: 'test_user', entity_id: String(r.testUser.id) });
    const drc = await addTestUser(t.ctx(), { name: 'Kin', phone: '00243812345678' });
    expect(drc.testUser.chatId).toBe('243812345678@c.us');
  });

  it('a phone without a country code is refused with the example +919876543210, naming phone; nothing written', async () => {
    const audits = await auditCount();
    for (const phone of ['0812345678', '919876543210', '9876543210', '812345678']) {
      const e = await refused(addTestUser(t.ctx(), { name: 'Local', phone }));
      expect(e.code, phone).toBe('PHONE_INVALID');
      expect(e.exitCode).toBe(3);
      expect(e.message).toContain('phone');
      expect(e.message).toContain('+919876543210');
      expect(e.message).toContain('country code');
      expect(e.message).toContain(phone);
    }
    for (const phone of ['+243 81 23', '+91 98765 43210 ext 5', 'call me', '']) {
      const e = await refused(addTestUser(t.ctx(), { name: 'Bad', phone }));
      expect(e.code, phone).toBe('PHONE_INVALID');
      expect(e.message).toContain('+919876543210');
    }
    expect(await userCount()).toBe(0);
    expect(await auditCount()).toBe(audits);
  });

  it('a missing or empty name is VALIDATION_FAILED naming name', async () => {
    const e = await refused(addTestUser(t.ctx(), { name: '  ', phone: '+919876543210' }));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.message).toMatch(/name: cannot be empty/);
    expect(await userCount()).toBe(0);
  });

  it('the same number twice, in any form, is ALREADY_EXISTS naming the existing user', async () => {
    const first = await addTestUser(t.ctx(), { name: 'Asha', phone: '+919876543210' });
    const audits = await auditCount();
    const e = await refused(addTestUser(t.ctx(), { name: 'Asha 2', phone: '0091 98765-43210' }));
    expect(e.code).toBe('ALREADY_EXISTS');
    expect(e.message).toContain(`#${first.testUser.id}`);
    expect(await userCount()).toBe(1);
    expect(await auditCount()).toBe(audits);
  });
});

describe('finding, editing, activating, removing', () => {
  it('finds by id, #id, name (any case) and phone (any form, or the chat id digits)', async () => {
    const { testUser: asha } = await addTestUser(t.ctx(), { name: 'Asha Rao', phone: '+919876543210' });
    for (const ref of [String(asha.id), `#${asha.id}`, 'asha rao', 'ASHA RAO', '+91 98765 43210', '00919876543210', '919876543210']) {
      expect((await resolveTestUser(t.db, ref)).id, ref).toBe(asha.id);
    }
    expect((await refused(resolveTestUser(t.db, 'nobody'))).code).toBe('TEST_USER_NOT_FOUND');
    await addTestUser(t.ctx(), { name: 'asha rao', phone: '+243812345678' });
    const amb = await refused(resolveTestUser(t.db, 'Asha Rao'));
    expect(amb.code).toBe('AMBIGUOUS_REFERENCE');
    expect(amb.message).toContain('#');
    expect((await showTestUser(t.ctx(), `#${asha.id}`)).testUser.name).toBe('Asha Rao');
  });

  it('edit changes name, phone and notes (audited with before/after); no change writes nothing', async () => {
    const { testUser: u } = await addTestUser(t.ctx(), { name: 'Asha', phone: '+919876543210', notes: 'old' });
    const audits = await auditCount();
    const r = await editTestUser(t.ctx(), 'Asha', { name: 'Asha R', phone: '+243 81 234 5678', notes: '' });
    expect(r).toMatchObject({ changed: true, testUser: { id: u.id, name: 'Asha R', phone: '+243 81 234 5678', chatId: '243812345678@c.us', notes: null } });
    const row = (await t.pool.query(`select details from admin_activity where action = 'test_user.edit' order by id desc limit 1`)).rows[0];
    expect(row.details).toMatchObject({ changed: ['name', 'phone', 'chatId', 'notes'], before: { name: 'Asha', notes: 'old' }, after: { name: 'Asha R', notes: null } });
    expect(await editTestUser(t.ctx(), String(u.id), { name: 'Asha R' })).toMatchObject({ changed: false });
    expect(await auditCount()).toBe(audits + 1);
    expect((await refused(editTestUser(t.ctx(), String(u.id), {}))).code).toBe('USAGE');
    const bad = await refused(editTestUser(t.ctx(), String(u.id), { phone: '0812345678' }));
    expect(bad.code).toBe('PHONE_INVALID');
    expect(bad.message).toContain('+919876543210');
    await addTestUser(t.ctx(), { name: 'Other', phone: '+919876543210' });
    expect((await refused(editTestUser(t.ctx(), String(u.id), { phone: '+91 98765 43210' }))).code).toBe('ALREADY_EXISTS');
    expect((await showTestUser(t.ctx(), String(u.id))).testUser.chatId).toBe('243812345678@c.us');
  });

  it('deactivate and activate are audited and idempotent; deactivating a list member warns', async () => {
    const { testUser: u } = await addTestUser(t.ctx(), { name: 'Asha', phone: '+919876543210' });
    await createTestList(t.ctx(), { name: 'QA' });
    await addTestListMembers(t.ctx(), 'QA', ['Asha']);
    const audits = await auditCount();
    const off = await deactivateTestUser(t.ctx(), 'Asha');
    expect(off).toMatchObject({ changed: true, testUser: { active: false, lists: ['QA'] } });
    expect(off.warnings[0]).toContain('"QA"');
    expect(await deactivateTestUser(t.ctx(), 'Asha')).toMatchObject({ changed: false });
    expect((await listTestUsers(t.ctx(), { active: false })).testUsers.map((x) => x.id)).toEqual([u.id]);
    expect((await listTestUsers(t.ctx(), { active: true })).testUsers).toEqual([]);
    expect(await activateTestUser(t.ctx(), String(u.id))).toMatchObject({ changed: true, testUser: { active: true } });
    expect(await auditCount()).toBe(audits + 2);
  });

  it('rm deletes the user and its memberships, audited; unknown is TEST_USER_NOT_FOUND', async () => {
    await addTestUser(t.ctx(), { name: 'Asha', phone: '+919876543210' });
    await createTestList(t.ctx(), { name: 'QA' });
    await addTestListMembers(t.ctx(), 'QA', ['Asha']);
    const r = await removeTestUser(t.ctx(), '+919876543210');
    expect(r.removed).toMatchObject({ name: 'Asha', lists: ['QA'] });
    expect(await userCount()).toBe(0);
    expect(Number((await t.pool.query('select count(*) from test_list_members')).rows[0].count)).toBe(0);
    const row = (await t.pool.query(`select details from admin_activity where action = 'test_user.remove' order by id desc limit 1`)).rows[0];
    expect(row.details).toMatchObject({ name: 'Asha', lists: ['QA'] });
    expect((await refused(removeTestUser(t.ctx(), 'Asha'))).code).toBe('TEST_USER_NOT_FOUND');
  });
});

describe('test users never appear in campaign audiences', () => {
  it('they are not contacts, so contacts, summaries and a queue build never include them', async () => {
    await addTestUser(t.ctx(), { name: 'Tester One', phone: '+243812345601' });
    await addTestUser(t.ctx(), { name: 'Tester Two', phone: '+919876543210' });
    const crm = [1, 2, 3].map((i) => toContactInput({ id: i, name: `Customer ${i}`, phone: `+24381234570${i}`, city: null, source: null, store_id: null, brand: 'vaseline', updated_at: null, registrations: [] }));
    await upsertContactsPage(t.db, crm.map((m) => (m.ok ? m.contact : (null as never))), new Date());
    expect((await listContacts(t.ctx(), { search: 'Tester' })).total).toBe(0);
    expect((await contactsSummary(t.ctx())).total).toBe(3);
    const { campaign } = await createCampaign(t.ctx(), { name: 'Audience check', brand: 'vaseline', template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } });
    await approveCampaign(t.ctx(), String(campaign.id));
    const built = await buildQueue(t.ctx(), String(campaign.id));
    expect(built.queued).toBe(3);
    const chats = (await t.pool.query('select chat_id from send_queue where campaign_id = $1 order by chat_id', [campaign.id])).rows.map((r) => r.chat_id);
    expect(chats).toEqual(['243812345701@c.us', '243812345702@c.us', '243812345703@c.us']);
    expect(chats).not.toContain('243812345601@c.us');
    expect(chats).not.toContain('919876543210@c.us');
  });
});
