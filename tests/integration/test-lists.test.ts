// Test lists on real Postgres: create (unique name), add only active users (all or nothing),
// remove, show, list, rm; the 10-50 member advice as warnings; every mutation audited.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  addTestListMembers,
  createTestList,
  listTestLists,
  removeTestList,
  removeTestListMembers,
  showTestList,
} from '../../src/core/test-lists/test-list.service.js';
import { addTestUser, deactivateTestUser } from '../../src/core/test-users/test-user.service.js';
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

async function users(n: number, from = 0): Promise<string[]> {
  const names: string[] = [];
  for (let i = from; i < from + n; i++) {
    const name = `Tester ${String(i).padStart(2, '0')}`;
    await addTestUser(t.ctx(), { name, phone: `+2438123456${String(i).padStart(2, '0')}` });
    names.push(name);
  }
  return names;
}

async function members(list: string): Promise<string[]> {
  return (await showTestList(t.ctx(), list)).members.map((m) => m.name);
}

async function audits(prefix = 'test_list.'): Promise<number> {
  return Number((await t.pool.query(`select count(*) from admin_activity where action like $1`, [`${prefix}%`])).rows[0].count);
}

describe('test lists', () => {
  it('create: audited; a duplicate name (any case) is ALREADY_EXISTS; an empty name names the field', async () => {
    const before = await audits();
    const r = await createTestList(t.ctx(), { name: 'QA team', description: 'phones on every engine' });
    expect(r.list).toMatchObject({ name: 'QA team', description: 'phones on every engine', members: 0, activeMembers: 0 });
    expect(r.warnings[0]).toMatch(/below 10/);
    expect(await audits()).toBe(before + 1);
    const dup = await refused(createTestList(t.ctx(), { name: 'qa TEAM' }));
    expect(dup.code).toBe('ALREADY_EXISTS');
    expect(dup.exitCode).toBe(5);
    const empty = await refused(createTestList(t.ctx(), { name: ' ' }));
    expect(empty.code).toBe('VALIDATION_FAILED');
    expect(empty.message).toContain('name');
    expect(await audits()).toBe(before + 1);
  });

  it('add: active users by id, name or phone; re-adding is reported, not an error; warned below 10', async () => {
    const names = await users(3);
    await createTestList(t.ctx(), { name: 'QA' });
    const before = await audits();
    const r = await addTestListMembers(t.ctx(), 'qa', [names[0]!, '+243812345601']);
    expect(r.changed.map((u) => u.name)).toEqual(['Tester 00', 'Tester 01']);
    expect(r.unchanged).toEqual([]);
    expect(r.list).toMatchObject({ members: 2, activeMembers: 2 });
    expect(r.warnings).toEqual([expect.stringMatching(/2 active member\(s\), below 10/)]);
    const again = await addTestListMembers(t.ctx(), 'QA', [names[0]!, names[2]!]);
    expect(again.changed.map((u) => u.name)).toEqual(['Tester 02']);
    expect(again.unchanged.map((u) => u.name)).toEqual(['Tester 00']);
    expect(await audits()).toBe(before + 2);
    const none = await addTestListMembers(t.ctx(), 'QA', [names[0]!]);
    expect(none.changed).toEqual([]);
    expect(await audits()).toBe(before + 2);
    expect(await members('QA')).toEqual(names);
  });

  it('add: an inactive user is TEST_USER_INACTIVE and nothing is added, not even the active ones', async () => {
    const names = await users(3);
    await deactivateTestUser(t.ctx(), names[1]!);
    await createTestList(t.ctx(), { name: 'QA' });
    const before = await audits();
    const e = await refused(addTestListMembers(t.ctx(), 'QA', names));
    expect(e.code).toBe('TEST_USER_INACTIVE');
    expect(e.message).toContain('Tester 01');
    expect(e.message).toContain('test-users activate');
    expect(await members('QA')).toEqual([]);
    expect(await audits()).toBe(before);
  });

  it('add: an unknown user is TEST_USER_NOT_FOUND naming it, nothing added; an unknown list is TEST_LIST_NOT_FOUND', async () => {
    const names = await users(2);
    await createTestList(t.ctx(), { name: 'QA' });
    const e = await refused(addTestListMembers(t.ctx(), 'QA', [names[0]!, 'ghost', names[1]!]));
    expect(e.code).toBe('TEST_USER_NOT_FOUND');
    expect(e.message).toContain('"ghost"');
    expect(await members('QA')).toEqual([]);
    expect((await refused(addTestListMembers(t.ctx(), 'nope', names))).code).toBe('TEST_LIST_NOT_FOUND');
  });

  it('10 to 50 active members: no warning; 51: warned about the daily limit; inactive members are counted apart', async () => {
    const names = await users(51);
    await createTestList(t.ctx(), { name: 'Big' });
    expect((await addTestListMembers(t.ctx(), 'Big', names.slice(0, 10))).warnings).toEqual([]);
    expect((await addTestListMembers(t.ctx(), 'Big', names.slice(10, 50))).warnings).toEqual([]);
    const over = await addTestListMembers(t.ctx(), 'Big', [names[50]!]);
    expect(over.list.activeMembers).toBe(51);
    expect(over.warnings).toEqual([expect.stringMatching(/51 active members, above 50.*daily limit/)]);
    await deactivateTestUser(t.ctx(), names[0]!);
    const shown = await showTestList(t.ctx(), 'Big');
    expect(shown.list).toMatchObject({ members: 51, activeMembers: 50 });
    expect(shown.warnings).toEqual([expect.stringMatching(/1 inactive member/)]);
    expect(shown.members.find((m) => m.name === names[0])).toMatchObject({ active: false });
    const listed = await listTestLists(t.ctx());
    expect(listed.lists.map((l) => [l.name, l.members, l.activeMembers])).toEqual([['Big', 51, 50]]);
  });

  it('remove: members out (audited), non-members reported; the users stay', async () => {
    const names = await users(3);
    await createTestList(t.ctx(), { name: 'QA' });
    await addTestListMembers(t.ctx(), 'QA', names.slice(0, 2));
    const before = await audits();
    const r = await removeTestListMembers(t.ctx(), 'QA', [names[0]!, names[2]!]);
    expect(r.changed.map((u) => u.name)).toEqual(['Tester 00']);
    expect(r.unchanged.map((u) => u.name)).toEqual(['Tester 02']);
    expect(await members('QA')).toEqual(['Tester 01']);
    expect(await audits()).toBe(before + 1);
    expect(Number((await t.pool.query('select count(*) from test_users')).rows[0].count)).toBe(3);
  });

  it('rm: the list goes, its users stay; audited with the member names; by id or #id', async () => {
    const names = await users(2);
    const { list } = await createTestList(t.ctx(), { name: 'QA' });
    await addTestListMembers(t.ctx(), String(list.id), names);
    const r = await removeTestList(t.ctx(), `#${list.id}`);
    expect(r.removed.name).toBe('QA');
    expect(r.members.map((m) => m.name)).toEqual(names);
    expect((await listTestLists(t.ctx())).lists).toEqual([]);
    expect(Number((await t.pool.query('select count(*) from test_users')).rows[0].count)).toBe(2);
    const row = (await t.pool.query(`select details from admin_activity where action = 'test_list.remove' order by id desc limit 1`)).rows[0];
    expect(row.details.members.map((m: { name: string }) => m.name)).toEqual(names);
    expect((await refused(showTestList(t.ctx(), 'QA'))).code).toBe('TEST_LIST_NOT_FOUND');
  });
});
