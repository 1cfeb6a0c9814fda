// Opens the campaign database. int8 is parsed to number once, here: ids and counts stay far
// below 2^53, and every caller then sees plain numbers.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(1700, (v) => Number.parseFloat(v));

export interface DbHandle {
  db: Kysely<Database>;
  pool: pg.Pool;
  url: string;
}

export function createDb(url: string, options: { max?: number; applicationName?: string } = {}): DbHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 5,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 10_000,
    application_name: options.applicationName ?? 'campaign',
  });
  // An idle client losing its server (database restart) must not crash the process.
  pool.on('error', () => {});
  // Nor a checked-out client losing it: pg emits 'error' on the client, and with no listener the
  // process dies. The query in flight still rejects, and the pool discards the dead client.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool, url };
}
