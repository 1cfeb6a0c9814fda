// A throwaway migrated database for a bench: on BENCH_DATABASE_URL, TEST_DATABASE_URL or
// DATABASE_URL's server when set, else on an embedded server in a temporary CAMPAIGN_HOME. Dropped (and stopped) afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { FakeClock, systemClock } from '../src/core/clock.js';
import { loadConfig } from '../src/core/config.js';
import type { Context } from '../src/core/context.js';
import { createDb, type DbHandle } from '../src/core/db/create-db.js';
import { migrateToLatest } from '../src/core/db/migrate.js';
import { silentLog } from '../src/core/log.js';

export interface ScratchDb extends DbHandle {
  ctx(overrides?: Partial<Context>): Context;
}

async function admin(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

export async function withScratchDatabase<T>(label: string, fn: (db: ScratchDb) => Promise<T>, options: { poolSize?: number; realClock?: boolean } = {}): Promise<T> {
  let adminUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || '';
  let home: string | undefined;
  if (!adminUrl) {
    home = mkdtempSync(join(tmpdir(), `campaign-bench-${label}-`));
    const { ensureEmbedded } = await import('../src/core/db/embedded.js');
    adminUrl = (await ensureEmbedded(home)).url;
  }
  const name = `campaign_bench_${label.replace(/\W/g, '_')}_${randomBytes(3).toString('hex')}`;
  await admin(adminUrl, `create database ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const handle = createDb(u.toString(), { max: options.poolSize ?? 8, applicationName: `bench ${label}` });
  try {
    await migrateToLatest(handle.db);
    const config = loadConfig({ env: { DATABASE_URL: handle.url, CAMPAIGN_HOME: tmpdir() }, cwd: '/' });
    const clock = options.realClock === false ? new FakeClock() : systemClock;
    return await fn({ ...handle, ctx: (o = {}) => ({ db: handle.db, clock, log: silentLog, actor: 'bench', config, ...o }) });
  } finally {
    await handle.db.destroy();
    await admin(adminUrl, `drop database if exists ${name} with (force)`);
    if (home) {
      const { stopEmbedded } = await import('../src/core/db/embedded.js');
      const stopped = await stopEmbedded(home).catch(() => undefined);
      // As root the cluster lives outside the home (see embedded.ts); remove it too.
      if (stopped && !stopped.info.dataDir.startsWith(home)) rmSync(dirname(stopped.info.dataDir), { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  }
}

/** n contacts of one brand with valid, distinct chat ids, inserted set-based. */
export async function seedContacts(db: DbHandle, n: number, brand = 'vaseline', offset = 0): Promise<void> {
  await db.pool.query(
    `insert into contacts (crm_id, name, first_name, phone_raw, chat_id, phone_valid, city, source, store_id, brand, registered_brands)
     select $2 || '-' || g, 'Person ' || g, 'Person' || g, '+2438' || lpad(g::text, 8, '0'), '2438' || lpad(g::text, 8, '0') || '@c.us', true,
            'Kinshasa', 'store', 'KIN-' || (g % 50), $2, array[$2]
     from generate_series($3::int + 1, $3::int + $1::int) g`,
    [n, brand, offset],
  );
}
