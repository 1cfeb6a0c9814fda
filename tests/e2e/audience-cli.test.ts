// The built CLI's audience commands against the PostgREST stand-in over a real CRM schema and a
// real campaign database: --json documents, exit codes, and the service key never printed.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../helpers/closed-port.js';
import { createCrmTables, insertCrmUsers, type PostgrestServer, startPostgrestServer } from '../helpers/postgrest-server.js';
import { cleanEnv, type CliResult, runCli, tempDir } from '../helpers/run-cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const KEY = `e2e-service-key-${randomBytes(6).toString('hex')}`;
let t: TestDatabase;
let crmSchema: string;
let server: PostgrestServer;
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> => runCli(args, { env: { ...env, ...extra }, cwd: dir });

beforeAll(async () => {
  t = await createTestDatabase();
  const schema = (crmSchema = `crm_${randomBytes(4).toString('hex')}`);
  await createCrmTables(t.pool, schema);
  await insertCrmUsers(t.pool, schema, [
    { id: 1, name: 'Alice Mbuyi', phone: '+243 81 234 5678', city: 'Kinshasa', source: 'store', brand: 'lifebuoy', brands: ['vaseline', 'pepsodent'] },
    { id: 2, name: 'Bob Kabila', phone: '0812345679', city: 'Goma', brand: 'vaseline' },
    { id: 3, name: 'Carl', phone: '919876543210', brand: 'vaseline' },
    { id: 4, name: 'Dan', phone: '0812345671', brand: 'vaseline', banned: true },
    ...Array.from({ length: 1200 }, (_, i) => ({ id: 100 + i, name: `Bulk ${i}`, phone: `+2438${12300000 + i}`, brand: 'pepsodent' })),
  ]);
  server = await startPostgrestServer({ databaseUrl: t.url, schema, apiKey: KEY });
  dir = tempDir();
  env = cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir, CAMPAIGN_ACTOR: 'ci-bot', SUPABASE_URL: server.url, SUPABASE_SERVICE_KEY: KEY });
});
afterAll(async () => {
  await server?.close();
  await t?.drop();
});

function expectNoKey(r: CliResult): void {
  expect(r.stdout).not.toContain(KEY);
  expect(r.stderr).not.toContain(KEY);
}

describe('campaign audience', () => {
  it('brands --json', async () => {
    const r = await cli(['audience', 'brands', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.brands).toEqual([
      { brand: 'pepsodent', users: 1201 },
      { brand: 'vaseline', users: 3 },
    ]);
    expectNoKey(r);
  });

  it('preview --json: rows with validity and sync state, the total; writes nothing', async () => {
    const r = await cli(['audience', 'preview', '--brand', 'vaseline', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.total).toBe(3);
    expect(r.json.bannedExcluded).toBe(1);
    expect(r.json.rows.map((x: any) => [x.crmId, x.phoneValid, x.sync])).toEqual([
      ['1', true, 'new'],
      ['2', true, 'new'],
      ['3', false, 'new'],
    ]);
    expect(r.json.rows[2].phoneInvalidReason).toMatch(/not a valid number/);
    expect(r.json.rows[0].brands).toEqual(['pepsodent', 'vaseline']);
    const contacts = await t.pool.query('select count(*)::int as n from contacts');
    expect(contacts.rows[0].n).toBe(0);
    const page = await cli(['audience', 'preview', '--brand', 'pepsodent', '--limit', '2', '--offset', '1', '--search', 'bulk 1', '--json']);
    expect(page.code, page.stderr).toBe(0);
    expect(page.json.rows).toHaveLength(2);
    expect(page.json.total).toBeGreaterThan(100);
  });

  it('preview without --json is a table on stdout', async () => {
    const r = await cli(['audience', 'preview', '--brand', 'vaseline']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Alice Mbuyi');
    expect(r.stdout).toMatch(/invalid: not a valid number/);
    expect(r.stdout).toMatch(/[┌│─]/);
  });

  it('import --json: counts; a re-run is all unchanged; audited', async () => {
    const r = await cli(['audience', 'import', '--brand', 'pepsodent', '--all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ brand: 'pepsodent', matched: 1201, new: 1201, updated: 0, unchanged: 0, invalidPhone: 0, bannedSkipped: 0, pages: 2, complete: true });
    expect(r.stderr).not.toContain('importing'); // no progress bar without a TTY
    const again = await cli(['audience', 'import', '--brand', 'pepsodent', '--all', '--json']);
    expect(again.json).toMatchObject({ new: 0, updated: 0, unchanged: 1201 });
    const ids = await cli(['audience', 'import', '--brand', 'vaseline', '--ids', '2,3,4', '--json']);
    expect(ids.json).toMatchObject({ new: 2, unchanged: 0, invalidPhone: 1, bannedSkipped: 1, notMatched: ['4'] });
    expect(ids.json.updated).toBe(0);
    const audit = await cli(['audit', '--json']);
    const imports = audit.json.activity.filter((a: any) => a.action === 'audience.import');
    expect(imports).toHaveLength(3);
    expect(imports.every((a: any) => a.actor === 'ci-bot')).toBe(true);
    expectNoKey(audit);
    const preview = await cli(['audience', 'preview', '--brand', 'vaseline', '--json']);
    expect(preview.json.rows.map((x: any) => x.sync)).toEqual(['up_to_date', 'up_to_date', 'up_to_date']);
  });

  it('import without --ids or --all is a usage error', async () => {
    const r = await cli(['audience', 'import', '--brand', 'vaseline', '--json']);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
  });

  it('a wrong key exits 8 with CRM_REJECTED naming SUPABASE_SERVICE_KEY; nothing written', async () => {
    const before = (await t.pool.query('select (select count(*) from contacts)::int as c, (select count(*) from admin_activity)::int as a')).rows[0];
    const r = await cli(['audience', 'import', '--brand', 'vaseline', '--all', '--json'], { SUPABASE_SERVICE_KEY: 'wrong-key-9876' });
    expect(r.code, r.stdout + r.stderr).toBe(8);
    expect(r.json.error.code).toBe('CRM_REJECTED');
    expect(r.json.error.message).toContain('SUPABASE_SERVICE_KEY');
    expect(r.stdout + r.stderr).not.toContain('wrong-key-9876');
    const human = await cli(['audience', 'brands'], { SUPABASE_SERVICE_KEY: 'wrong-key-9876' });
    expect(human.code).toBe(8);
    expect(human.stderr).toMatch(/^error \[CRM_REJECTED\]: .*SUPABASE_SERVICE_KEY/);
    const after = (await t.pool.query('select (select count(*) from contacts)::int as c, (select count(*) from admin_activity)::int as a')).rows[0];
    expect(after).toEqual(before);
  });

  it('missing configuration exits 6 naming the variables; unreachable exits 8 naming SUPABASE_URL', async () => {
    const missing = await runCli(['audience', 'brands', '--json'], { env: cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir }), cwd: dir });
    expect(missing.code).toBe(6);
    expect(missing.json.error.code).toBe('CONFIG_MISSING');
    expect(missing.json.error.message).toContain('SUPABASE_URL');
    expect(missing.json.error.message).toContain('SUPABASE_SERVICE_KEY');
    const gone = await cli(['audience', 'preview', '--brand', 'vaseline', '--json'], { SUPABASE_URL: `http://127.0.0.1:${await closedPort()}` });
    expect(gone.code).toBe(8);
    expect(gone.json.error.code).toBe('CRM_UNAVAILABLE');
    expect(gone.json.error.message).toContain('SUPABASE_URL');
    const badSchema = await cli(['audience', 'brands', '--json'], { CRM_SCHEMA: '{"users":{"columns":{"phon":"x"}}}' });
    expect(badSchema.code).toBe(6);
    expect(badSchema.json.error.message).toContain('users.columns.phon');
  });
});

describe('an import killed half way (kill -9)', () => {
  it('leaves the committed pages consistent, and a re-run completes it with nothing duplicated', async () => {
    await insertCrmUsers(t.pool, crmSchema, Array.from({ length: 1500 }, (_, i) => ({ id: 5000 + i, name: `Kill ${i}`, phone: `+2438${14500000 + i}`, brand: 'killme' })));
    // The second page (keyset: id=gt.<last id>) hangs, so the process is killed after the first
    // page was written and while it waits for the next one.
    let hung = 0;
    server.setFault((info) => (info.table === 'users' && info.params.getAll('id').some((v) => v.startsWith('gt.')) ? (hung++, { delayMs: 20_000 }) : undefined));
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('../helpers/run-cli.js');
    const child = spawn(process.execPath, [BIN, 'audience', 'import', '--brand', 'killme', '--all', '--json'], { cwd: dir, env, stdio: 'ignore' });
    const count = async () => Number((await t.pool.query(`select count(*) as n from contacts where registered_brands @> array['killme']`)).rows[0].n);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await count()) < 1000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(hung, 'the second page was requested and held').toBeGreaterThan(0);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    expect(await count()).toBe(1000);
    server.setFault(undefined);
    const again = await cli(['audience', 'import', '--brand', 'killme', '--all', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json).toMatchObject({ matched: 1500, new: 500, updated: 0, unchanged: 1000, complete: true });
    expect(await count()).toBe(1500);
    const dupes = await t.pool.query(`select chat_id from contacts where registered_brands @> array['killme'] group by chat_id having count(*) > 1`);
    expect(dupes.rows).toEqual([]);
  }, 90_000);
});

describe('a CRM that caps rows per response (Supabase "Max rows" 500)', () => {
  it('import --all reads every page past the cap and exits 0; rows the CRM skips exit 8 with CRM_INCOMPLETE, no stack trace', async () => {
    const s = `crm_cap_${randomBytes(3).toString('hex')}`;
    await t.pool.query(`
      create schema ${s};
      create table ${s}.base (id bigint, name text, phone text, brand text);
      insert into ${s}.base select 20000 + g, 'Cap ' || g, '+24381' || (4000000 + g), 'capped' from generate_series(1, 1234) g;
      create view ${s}.users as select * from ${s}.base;
    `);
    const capped = await startPostgrestServer({ databaseUrl: t.url, schema: s, apiKey: KEY, maxRows: 500 });
    try {
      const extra = { SUPABASE_URL: capped.url, CRM_SCHEMA: JSON.stringify({ users: { columns: { city: null, source: null, store_id: null, banned: null, updated_at: null } }, registrations: null }) };
      const r = await cli(['audience', 'import', '--brand', 'capped', '--all', '--json'], extra);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ matched: 1234, processed: 1234, new: 1234, complete: true });
      // An id that repeats across a page boundary: paging by `id > last` skips its second row.
      await t.pool.query(`insert into ${s}.base values (20500, 'Cap 500 again', '+243814999999', 'capped')`);
      const short = await cli(['audience', 'import', '--brand', 'capped', '--all', '--json'], extra);
      expect(short.code, short.stdout + short.stderr).toBe(8);
      expect(short.json.error.code).toBe('CRM_INCOMPLETE');
      expect(short.json.error.message).toMatch(/returned 1234 users of the 1235 it counted/);
      const human = await cli(['audience', 'import', '--brand', 'capped', '--all'], extra);
      expect(human.code).toBe(8);
      expect(human.stderr).toMatch(/^error \[CRM_INCOMPLETE\]/m);
      expect(human.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await capped.close();
    }
  }, 60_000);
});
