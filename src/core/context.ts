// What every core function receives. Core never reaches for globals: the database, the time,
// the log and who is acting all come in here, so tests and the simulated clock can replace them.
import type { Kysely } from 'kysely';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Database } from './db/schema.js';
import type { Log } from './log.js';

export interface Context {
  db: Kysely<Database>;
  clock: Clock;
  log: Log;
  /** Who is acting, for the audit log: `--actor`, CAMPAIGN_ACTOR, else the OS user. */
  actor: string;
  config: Config;
}

export type Db = Kysely<Database>;
