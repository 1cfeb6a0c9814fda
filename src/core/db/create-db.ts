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

/**
 * A client that closes its socket when its login fails. pg leaves it open after an error raised
 * on our side of the handshake (a SCRAM server asking a URL without a password), and the server
 * then holds it until authentication_timeout (60 s), keeping a finished command alive that long.
 */
class ClosingClient extends pg.Client {}
const baseConnect = pg.Client.prototype.connect as (this: pg.Client) => Promise<unknown>;
Object.defineProperty(ClosingClient.prototype, 'connect', {
  value(this: pg.Client, callback?: (err: Error | undefined) => void) {
    const connecting = baseConnect.call(this).catch((e: unknown) => {
      (this as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
      throw e;
    });
    if (!callback) return connecting;
    connecting.then(
      () => callback(undefined),
      (e: Error) => callback(e),
    );
    return undefined;
  },
});

export function createDb(url: string, options: { max?: number; applicationName?: string } = {}): DbHandle {
  const pool = new pg.Pool({
    Client: ClosingClient as unknown as new () => pg.ClientBase,
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
