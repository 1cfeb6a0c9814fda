// Starts (or reuses) the test PostgreSQL once per run and migrates a template database that
// every test file clones. TEST_DATABASE_URL selects a server; otherwise the embedded one.
// Two roles, as in production (README, "Two database roles"): the admin (owner) role migrates the
// template, and a scratch app role of this run, given only the app's rights by
// campaign_grant_app_role, is what each test file's core context connects as, so every test also
// proves the app works without owning its tables. The scratch role is dropped at the end.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb } from '../../src/core/db/create-db.js';
import { migrateToLatest } from '../../src/core/db/migrate.js';
import { grantAppRole } from '../../src/core/db/roles.js';

// One template per run: two runs on one server (TEST_DATABASE_URL) never drop each other's.
export const TEMPLATE_DB = `campaign_test_template_${randomBytes(4).toString('hex')}`;
export const TEST_APP_ROLE = `campaign_test_app_${randomBytes(4).toString('hex')}`;

declare module 'vitest' {
  export interface ProvidedContext {
    dbAdminUrl: string;
    /** The scratch app role's URL (password included), on the template database. */
    dbAppUrl: string;
    templateDb: string;
    dbKind: 'url' | 'embedded';
    embeddedHome: string;
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl: string = process.env.TEST_DATABASE_URL ?? '';
  let kind: 'url' | 'embedded' = 'url';
  // Each run has its own home (and so its own server): two runs side by side never stop each other's.
  const embeddedHome = mkdtempSync(join(tmpdir(), 'campaign-test-home-'));
  let stop: (() => Promise<void>) | undefined;
  if (adminUrl === '') {
    kind = 'embedded';
    const { ensureEmbedded, stopEmbedded } = await import('../../src/core/db/embedded.js');
    const started = await ensureEmbedded(embeddedHome);
    adminUrl = started.url;
    stop = async () => {
      await stopEmbedded(embeddedHome);
      // As root the cluster lives outside the home (see embedded.ts); remove it too.
      rmSync(dirname(started.info.dataDir), { recursive: true, force: true });
      rmSync(embeddedHome, { recursive: true, force: true });
    };
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE_DB} with (force)`);
  await admin.query(`create database ${TEMPLATE_DB}`);
  await admin.end();
  const tpl = createDb(withDatabase(adminUrl, TEMPLATE_DB), { max: 1 });
  const appPassword = randomBytes(16).toString('hex');
  try {
    await migrateToLatest(tpl.db);
    await grantAppRole(tpl.db, TEST_APP_ROLE, { password: appPassword });
  } finally {
    await tpl.db.destroy();
  }
  const appUrl = new URL(withDatabase(adminUrl, TEMPLATE_DB));
  appUrl.username = TEST_APP_ROLE;
  appUrl.password = appPassword;

  project.provide('dbAdminUrl', adminUrl);
  project.provide('dbAppUrl', appUrl.toString());
  project.provide('templateDb', TEMPLATE_DB);
  project.provide('dbKind', kind);
  project.provide('embeddedHome', embeddedHome);
  return async () => {
    if (kind === 'url') {
      // Clones left by crashed files and the template go; the server is someone else's.
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${TEMPLATE_DB} with (force)`).catch(() => {});
      await dropRole(c, adminUrl, TEST_APP_ROLE).catch(() => {});
      await c.end();
    }
    if (stop && !process.env.KEEP_TEST_DB) await stop();
  };
}

/** Drops a role after taking back its privileges in every database that still grants it some. */
async function dropRole(c: pg.Client, adminUrl: string, role: string): Promise<void> {
  const dbs = await c.query<{ datname: string }>(
    `select distinct d.datname from pg_shdepend s join pg_database d on d.oid = s.dbid
      where s.refobjid = (select oid from pg_roles where rolname = $1)`,
    [role],
  );
  for (const { datname } of dbs.rows) {
    const other = new pg.Client({ connectionString: withDatabase(adminUrl, datname) });
    await other.connect();
    await other.query(`drop owned by ${pg.escapeIdentifier(role)}`).finally(() => other.end());
  }
  await c.query(`drop role if exists ${pg.escapeIdentifier(role)}`);
}
