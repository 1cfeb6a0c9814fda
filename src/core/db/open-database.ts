// Chooses and opens the campaign database: DATABASE_URL when set (nothing else is touched), else
// the embedded server under CAMPAIGN_HOME, started on demand and migrated on first use.
import type { Config } from '../config.js';
import { CampaignError, fromDatabaseError } from '../errors.js';
import type { Log } from '../log.js';
import { createDb, type DbHandle } from './create-db.js';
import { assertSchemaCurrent, migrateToLatest } from './migrate.js';

export interface OpenOptions {
  /** Skip the schema check (db migrate, db status). */
  skipSchemaCheck?: boolean;
  log?: Log;
  poolSize?: number;
  applicationName?: string;
}

export interface OpenedDatabase extends DbHandle {
  kind: 'url' | 'embedded';
}

export async function resolveDatabaseUrl(config: Config, log?: Log): Promise<{ url: string; kind: 'url' | 'embedded' }> {
  if (config.databaseUrl) return { url: config.databaseUrl, kind: 'url' };
  const { ensureEmbedded } = await import('./embedded.js');
  const started = await ensureEmbedded(config.campaignHome, log);
  return { url: started.url, kind: 'embedded' };
}

export async function openDatabase(config: Config, options: OpenOptions = {}): Promise<OpenedDatabase> {
  const { url, kind } = await resolveDatabaseUrl(config, options.log);
  const handle = createDb(url, { max: options.poolSize, applicationName: options.applicationName });
  try {
    if (!options.skipSchemaCheck) {
      if (kind === 'embedded') {
        // The embedded database belongs to this tool alone, so it is migrated on first use
        // (documented in the README); a DATABASE_URL database is only migrated on request.
        await migrateToLatest(handle.db);
      } else {
        await assertSchemaCurrent(handle.db);
      }
    }
  } catch (e) {
    await handle.db.destroy().catch(() => {});
    throw fromDatabaseError(e) ?? e;
  }
  return { ...handle, kind };
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    throw new CampaignError('CONFIG_INVALID', 'DATABASE_URL is not a URL', {});
  }
}
