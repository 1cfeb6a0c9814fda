// promise 7: the audit log is append-only, and not by courtesy. The triggers of migration 0001
// refuse UPDATE/DELETE/TRUNCATE, but whoever owns admin_activity can disable or drop them or
// replace their function. So the app connects as a role that owns nothing and may only INSERT and
// SELECT the audit table (migration 0007, src/core/db/roles.ts). Tried here on the neighbours of
// that path: every way an owner could undo the triggers, on the test server (embedded or the
// machine's PostgreSQL 15) as this run's app role, on a fresh embedded server as campaign_app,
// and on a DATABASE_URL database set up by `campaign db migrate` with DATABASE_OWNER_URL.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActivity, recordActivity } from '../../src/core/audit/audit.repository.js';
import { pauseCampaign } from '../../src/core/campaigns/campaign-control.js';
import { loadConfig } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import { ROOT_CLUSTER_BASE, embeddedStatus, stopEmbedded } from '../../src/core/db/embedded.js';
import { migrateDatabase, openDatabase } from '../../src/core/db/open-database.js';
import { grantAppRole } from '../../src/core/db/roles.js';
import { CampaignError } from '../../src/core/errors.js';
import { silentLog } from '../../src/core/log.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { FakeClock } from '../../src/core/clock.js';
import { alwaysOpenSettings, seedContacts, startedCampaign } from '../helpers/seed.js';
import { adminQuery, createEmptyDatabase, createTestDatabase, type TestDatabase, urlFor } from '../helpers/test-database.js';

/** What an owner could do to the audit log's protection; each must fail for the app role. */
const FORBIDDEN: Array<[string, string]> = [
  ['disable the update/delete trigger', 'alter table admin_activity disable trigger admin_activity_no_update'],
  ['disable every trigger', 'alter table admin_activity disable trigger all'],
  ['drop the update/delete trigger', 'drop trigger admin_activity_no_update on admin_activity'],
  ['drop the truncate trigger', 'drop trigger admin_activity_no_truncate on admin_activity'],
  [
    'replace the trigger function',
    `create or replace function admin_activity_append_only() returns trigger language plpgsql as $$ begin return new; end $$`,
  ],
  ['add a trigger of its own', 'create trigger sneak before insert on admin_activity for each row execute function admin_activity_append_only()'],
  ['truncate', 'truncate admin_activity'],
  ['update', `update admin_activity set summary = 'rewritten'`],
  ['delete', 'delete from admin_activity'],
  ['take the table over', 'alter table admin_activity owner to current_user'],
  ['drop the table', 'drop table admin_activity'],
  ['rename the table away', 'alter table admin_activity rename to admin_activity_old'],
  ['reset the id sequence', `select setval('admin_activity_id_seq', 1)`],
  // A function in public that shadows one the owner's triggers or indexes call would run as the owner.
  ['create a function in public', `create function public.lower(varchar) returns text language sql as $$ select 'x' $$`],
  ['create a table in public', 'create table public.p7_planted (x int)'],
];

async function expectRefused(client: pg.Client, what: string, statement: string): Promise<void> {
  const err = await client.query(statement).then(
    () => undefined,
    (e: unknown) => e as { code?: string; message: string },
  );
  expect(err, `${what} (${statement}) must fail`).toBeDefined();
  // 42501 insufficient_privilege: "permission denied for table …", "must be owner of …".
  expect(err!.code, `${what}: ${err!.message}`).toBe('42501');
  expect(err!.message, what).toMatch(/permission denied|must be owner/);
}

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  return c;
}

/** The app's normal operations through the core, as the connected role: contacts, a queue, settings, activity. */
async function representativeFlow(ctx: Context): Promise<void> {
  await updateSettings(ctx, alwaysOpenSettings(ctx.clock.now()));
  await seedContacts(ctx.db, { count: 3, first: 81_000_000, crmPrefix: 'p7', label: 'Promise', brand: 'vaseline', city: 'Kinshasa', storeId: 'S1' });
  const { id, queued } = await startedCampaign(ctx, { name: `P7 ${randomBytes(2).toString('hex')}`, brand: 'vaseline' });
  expect(queued).toBe(3);
  await pauseCampaign(ctx, String(id), 'checking the audit trail');
  await recordActivity(ctx.db, { actor: ctx.actor, action: 'test.note', summary: 'the app role may append' });
  const actions = (await listActivity(ctx.db, { campaignId: id })).map((a) => a.action);
  expect(actions).toEqual(expect.arrayContaining(['campaign.create', 'campaign.approve', 'campaign.pause']));
  expect((await listActivity(ctx.db)).some((a) => a.action === 'test.note')).toBe(true);
}

describe('promise 7: the app role cannot undo the audit log protection (test server)', () => {
  let t: TestDatabase;
  let app: pg.Client;
  beforeAll(async () => {
    t = await createTestDatabase({ clock: new FakeClock(new Date('2026-03-02T10:00:00Z')) });
    app = await connect(t.app.url);
  });
  afterAll(async () => {
    await app?.end();
    await t?.drop();
  });

  it('the app role is no superuser, is not the owner, and owns nothing in the schema', async () => {
    const r = await app.query<{ me: string; su: boolean; owner: string; owned: string }>(`
      select current_user as me, (select rolsuper from pg_roles where rolname = current_user) as su,
             (select pg_get_userbyid(relowner) from pg_class where oid = 'admin_activity'::regclass) as owner,
             (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = 'public' and c.relowner = (select oid from pg_roles where rolname = current_user)) as owned`);
    expect(r.rows[0]!.su).toBe(false);
    expect(r.rows[0]!.owner).not.toBe(r.rows[0]!.me);
    expect(Number(r.rows[0]!.owned)).toBe(0);
  });

  it('INSERT and SELECT on the audit log work', async () => {
    await app.query(`insert into admin_activity (actor, action, summary) values ('p7', 'test.insert', 'appended')`);
    const r = await app.query(`select summary from admin_activity where action = 'test.insert'`);
    expect(r.rows).toEqual([{ summary: 'appended' }]);
  });

  it('ALTER … DISABLE TRIGGER, DROP TRIGGER, CREATE OR REPLACE FUNCTION, TRUNCATE, UPDATE, DELETE, OWNER, DROP TABLE: each refused with a permission error', async () => {
    for (const [what, statement] of FORBIDDEN) await expectRefused(app, what, statement);
    // Nothing changed: the row is there and the triggers are enabled.
    const r = await t.pool.query(`select tgname, tgenabled from pg_trigger where tgrelid = 'admin_activity'::regclass and not tgisinternal order by tgname`);
    expect(r.rows).toEqual([
      { tgname: 'admin_activity_no_truncate', tgenabled: 'O' },
      { tgname: 'admin_activity_no_update', tgenabled: 'O' },
    ]);
  });

  it('control: the owner role can disable the trigger (what the app could do before it had its own role)', async () => {
    const owner = await connect(t.url);
    try {
      await owner.query('begin');
      await owner.query('alter table admin_activity disable trigger admin_activity_no_update');
      await owner.query('rollback');
    } finally {
      await owner.end();
    }
  });

  it("the app's normal operations work as the app role: a campaign created, queued, started, paused, activity recorded", async () => {
    await representativeFlow(t.ctx());
  });

  it('a table a later migration adds is usable by the app role (default privileges), and the grant refuses roles that could alter the audit log', async () => {
    await t.pool.query('create table p7_later (id bigserial primary key, note text)');
    await app.query(`insert into p7_later (note) values ('ok')`);
    expect((await app.query('select note from p7_later')).rows).toEqual([{ note: 'ok' }]);
    await expectRefused(app, 'truncate a later table', 'truncate p7_later');

    const ownerRole = new URL(t.url).username;
    const asOwner = await grantAppRole(t.db, ownerRole).catch((e: unknown) => e);
    expect(asOwner).toBeInstanceOf(CampaignError);
    expect((asOwner as CampaignError).message).toMatch(/running the migrations|superuser/);
  });
});

describe('promise 7: a DATABASE_URL database set up with DATABASE_OWNER_URL and `campaign db migrate`', () => {
  const role = `campaign_p7_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  let empty: Awaited<ReturnType<typeof createEmptyDatabase>>;
  let appUrl: string;
  beforeAll(async () => {
    empty = await createEmptyDatabase();
    const u = new URL(urlFor(empty.name));
    u.username = role;
    u.password = password;
    appUrl = u.toString();
  });
  afterAll(async () => {
    await empty?.drop();
    await adminQuery(`drop role if exists ${role}`);
  });
  const config = (env: Record<string, string>) => loadConfig({ env: { CAMPAIGN_HOME: '/tmp/campaign-test-unused', ...env }, cwd: '/' });

  it('migrate creates the app role with the password DATABASE_URL gives it and grants it; the app then works as it and cannot touch the triggers', async () => {
    const cfg = config({ DATABASE_URL: appUrl, DATABASE_OWNER_URL: empty.url });
    const result = await migrateDatabase(cfg);
    expect(result.applied.length).toBeGreaterThan(0);
    expect(result.appRole).toEqual({ role, created: true, withoutPassword: false });
    expect(result.migratedAs).toBe(new URL(empty.url).username);

    const opened = await openDatabase(cfg);
    try {
      const me = await opened.pool.query('select current_user as u');
      expect(me.rows[0].u).toBe(role);
      await representativeFlow({ db: opened.db, clock: new FakeClock(new Date('2026-03-02T10:00:00Z')), log: silentLog, actor: 'p7', config: cfg });
    } finally {
      await opened.db.destroy();
    }
    const app = await connect(appUrl);
    try {
      for (const [what, statement] of FORBIDDEN) await expectRefused(app, what, statement);
    } finally {
      await app.end();
    }
    // Run again: idempotent, nothing to apply, the role kept.
    const again = await migrateDatabase(cfg);
    expect(again).toMatchObject({ alreadyUpToDate: true, appRole: { role, created: false } });
  });

  it('the app role cannot migrate: a pending schema is a clear error naming DATABASE_OWNER_URL, and the worker-like start refuses', async () => {
    const second = await createEmptyDatabase();
    try {
      const u = new URL(appUrl);
      u.pathname = `/${second.name}`;
      // Only DATABASE_URL, the app role: it cannot create the schema.
      const err = await migrateDatabase(config({ DATABASE_URL: u.toString() })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CampaignError);
      expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
      expect((err as CampaignError).message).toMatch(/DATABASE_OWNER_URL/);
      // Any command on that database (a worker starting) refuses, naming the command to run.
      const start = await openDatabase(config({ DATABASE_URL: u.toString(), DATABASE_OWNER_URL: second.url })).catch((e: unknown) => e);
      expect(start).toMatchObject({ code: 'SCHEMA_OUT_OF_DATE' });
      expect((start as CampaignError).message).toMatch(/campaign db migrate.*DATABASE_OWNER_URL/);
    } finally {
      await adminQuery(`drop database if exists ${second.name} with (force)`);
    }
  });

  it('an app role missing its grants (migrated without --app-role) is refused at start with the command that fixes it', async () => {
    const third = await createEmptyDatabase();
    try {
      const owner = config({ DATABASE_URL: third.url });
      await migrateDatabase(owner); // one role: no grants for anyone else
      const u = new URL(appUrl);
      u.pathname = `/${third.name}`;
      const err = await openDatabase(config({ DATABASE_URL: u.toString() })).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SCHEMA_OUT_OF_DATE' });
      expect((err as CampaignError).message).toContain(`campaign db migrate --app-role ${role}`);
    } finally {
      await adminQuery(`drop database if exists ${third.name} with (force)`);
    }
  });
});

describe('promise 7: the embedded default runs every command as campaign_app', () => {
  const home = mkdtempSync(join(tmpdir(), 'campaign-p7-home-'));
  afterAll(async () => {
    const info = await stopEmbedded(home).then((r) => r.info, () => embeddedStatus(home));
    if (info.dataDir.startsWith(`${ROOT_CLUSTER_BASE}/`)) rmSync(dirname(info.dataDir), { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('the first command migrates as the owner; the command itself connects as campaign_app, which cannot touch the triggers but runs the flow', async () => {
    const cfg = loadConfig({ env: { CAMPAIGN_HOME: home }, cwd: '/' });
    const opened = await openDatabase(cfg);
    try {
      expect(opened.kind).toBe('embedded');
      expect(new URL(opened.url).username).toBe('campaign_app');
      const app = await connect(opened.url);
      try {
        expect((await app.query('select current_user as u')).rows[0].u).toBe('campaign_app');
        for (const [what, statement] of FORBIDDEN) await expectRefused(app, what, statement);
      } finally {
        await app.end();
      }
      await representativeFlow({ db: opened.db, clock: new FakeClock(new Date('2026-03-02T10:00:00Z')), log: silentLog, actor: 'p7', config: cfg });
    } finally {
      await opened.db.destroy();
    }
  });
});
