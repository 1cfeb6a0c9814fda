// The built CLI's test-users and test-lists commands on a real campaign database: --json
// documents, the phone rule's refusal (exit 3, with the example), warnings on stderr only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, type CliResult, runCli, tempDir } from '../helpers/run-cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let t: TestDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[]): Promise<CliResult> => runCli(args, { env, cwd: dir });

beforeAll(async () => {
  t = await createTestDatabase();
  dir = tempDir();
  env = cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir, CAMPAIGN_ACTOR: 'qa' });
});
afterAll(async () => {
  await t?.drop();
});

describe('campaign test-users', () => {
  it('add --json; a phone without a country code exits 3 with PHONE_INVALID and the example; nothing written', async () => {
    const r = await cli(['test-users', 'add', '--name', 'Asha', '--phone', '+919876543210', '--notes', 'Pixel', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.testUser).toMatchObject({ name: 'Asha', chatId: '919876543210@c.us', active: true, notes: 'Pixel' });
    const bad = await cli(['test-users', 'add', '--name', 'Local', '--phone', '0812345678', '--json']);
    expect(bad.code).toBe(3);
    expect(bad.json.error.code).toBe('PHONE_INVALID');
    expect(bad.json.error.message).toContain('+919876543210');
    const human = await cli(['test-users', 'add', '--name', 'Local', '--phone', '0812345678']);
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(/^error \[PHONE_INVALID\]: .*country code.*\+919876543210/);
    const dup = await cli(['test-users', 'add', '--name', 'Asha 2', '--phone', '00919876543210', '--json']);
    expect(dup.code).toBe(5);
    expect(dup.json.error.code).toBe('ALREADY_EXISTS');
    const missing = await cli(['test-users', 'add', '--name', 'X', '--json']);
    expect(missing.code).toBe(2);
    expect((await t.pool.query('select count(*)::int as n from test_users')).rows[0].n).toBe(1);
  });

  it('list, edit, deactivate, activate, rm', async () => {
    await cli(['test-users', 'add', '--name', 'Ben', '--phone', '+243812345678']);
    const list = await cli(['test-users', 'list', '--json']);
    expect(list.json.testUsers.map((u: any) => u.name)).toEqual(['Asha', 'Ben']);
    const edit = await cli(['test-users', 'edit', 'Ben', '--name', 'Ben K', '--json']);
    expect(edit.json).toMatchObject({ changed: true, testUser: { name: 'Ben K' } });
    const off = await cli(['test-users', 'deactivate', 'ben k', '--json']);
    expect(off.json.testUser.active).toBe(false);
    const inactive = await cli(['test-users', 'list', '--active', 'no', '--json']);
    expect(inactive.json.testUsers.map((u: any) => u.name)).toEqual(['Ben K']);
    const on = await cli(['test-users', 'activate', '+243812345678', '--json']);
    expect(on.json.testUser.active).toBe(true);
    const rm = await cli(['test-users', 'rm', 'Ben K', '--json']);
    expect(rm.code).toBe(0);
    expect(rm.json.removed.name).toBe('Ben K');
    const gone = await cli(['test-users', 'show', 'Ben K', '--json']);
    expect(gone.code).toBe(4);
    expect(gone.json.error.code).toBe('TEST_USER_NOT_FOUND');
  });
});

describe('campaign test-lists', () => {
  it('create, add (warning on stderr, not in stdout JSON stream), refuse inactive, show, list, remove, rm', async () => {
    for (let i = 0; i < 3; i++) await cli(['test-users', 'add', '--name', `T${i}`, '--phone', `+24381234560${i}`]);
    await cli(['test-users', 'deactivate', 'T2']);
    const created = await cli(['test-lists', 'create', '--name', 'QA', '--description', 'engines', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.json.list).toMatchObject({ name: 'QA', members: 0 });
    const add = await cli(['test-lists', 'add', 'QA', 'T0', 'T1', 'Asha', '--json']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.json.changed.map((u: any) => u.name)).toEqual(['T0', 'T1', 'Asha']);
    expect(add.json.warnings[0]).toMatch(/below 10/);
    expect(add.stderr).toMatch(/warning: .*below 10/);
    const refused = await cli(['test-lists', 'add', 'QA', 'T2', '--json']);
    expect(refused.code).toBe(5);
    expect(refused.json.error.code).toBe('TEST_USER_INACTIVE');
    const show = await cli(['test-lists', 'show', 'qa', '--json']);
    expect(show.json.members.map((m: any) => m.name)).toEqual(['Asha', 'T0', 'T1']);
    const table = await cli(['test-lists', 'list']);
    expect(table.stdout).toContain('QA');
    const removed = await cli(['test-lists', 'remove', 'QA', 'T0', '--json']);
    expect(removed.json.changed.map((u: any) => u.name)).toEqual(['T0']);
    const dup = await cli(['test-lists', 'create', '--name', 'qa', '--json']);
    expect(dup.code).toBe(5);
    const rm = await cli(['test-lists', 'rm', 'QA', '--json']);
    expect(rm.code).toBe(0);
    expect(rm.json.members).toHaveLength(2);
    const none = await cli(['test-lists', 'show', 'QA', '--json']);
    expect(none.code).toBe(4);
    expect(none.json.error.code).toBe('TEST_LIST_NOT_FOUND');
    const audit = await cli(['audit', '--json']);
    const actions = audit.json.activity.map((a: any) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['test_list.create', 'test_list.add_members', 'test_list.remove_members', 'test_list.remove', 'test_user.add']));
  });
});
