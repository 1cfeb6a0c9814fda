// One fresh database per test file, cloned from the migrated template (fast: no migrations run).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import type { Clock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import { createDb, type DbHandle } from '../../src/core/db/create-db.js';
import { silentLog } from '../../src/core/log.js';


export interface TestDatabase extends DbHandle {
  name: string;
  /** This database as the run's app role (only the app's rights; see global-setup.ts). */
  app: DbHandle;
  /**
   * A core context on this database as the app role, so every test of the core also proves the
   * app works without owning its tables; clock and actor can be replaced per call. `db`, `pool`
   * and `url` stay the admin (owner) role for fixtures that create schemas or rename tables.
   */
  ctx(overrides?: Partial<Context>): Context;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  return inject('dbAdminUrl');
}

export function urlFor(name: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

/** The run's app role on database `name` (password included). */
export function appUrlFor(name: string): string {
  const u = new URL(inject('dbAppUrl'));
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates an empty database (no schema) for migration tests. */
export async function createEmptyDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `campaign_t_${randomBytes(5).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  return { name, url: urlFor(name), drop: () => adminQuery(`drop database if exists ${name} with (force)`) };
}

export async function adminQuery(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(options: { clock?: Clock } = {}): Promise<TestDatabase> {
  const name = `campaign_t_${randomBytes(5).toString('hex')}`;
  await adminQuery(`create database ${name} template ${inject('templateDb')}`);
  const url = urlFor(name);
  const handle = createDb(url, { max: 8 });
  const app = createDb(appUrlFor(name), { max: 8 });
  const config = loadConfig({ env: { DATABASE_URL: app.url, CAMPAIGN_HOME: '/tmp/campaign-test-unused' }, cwd: '/' });
  const clock = options.clock ?? new FakeClock();
  return {
    ...handle,
    name,
    app,
    ctx: (overrides = {}) => ({ db: app.db, clock, log: silentLog, actor: 'test', config, ...overrides }),
    async drop() {
      await app.db.destroy();
      await handle.db.destroy();
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}
