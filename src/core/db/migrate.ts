// Schema migrations through kysely's Migrator over the static list in migrations/index.ts.
import { type Kysely, type MigrationResultSet, Migrator, sql } from 'kysely';
import { migrations } from '../../../migrations/index.js';
import { CampaignError, fromDatabaseError } from '../errors.js';

const provider = { getMigrations: async () => migrations };

export function latestMigration(): string {
  const names = Object.keys(migrations).sort();
  return names[names.length - 1]!;
}

export interface MigrateResult {
  applied: string[];
  latest: string;
  alreadyUpToDate: boolean;
}

export async function migrateToLatest(db: Kysely<any>): Promise<MigrateResult> {
  // Up to date: nothing to lock or create, so a role that may not change the schema (the app
  // role) can run `db migrate` harmlessly.
  const before = await schemaState(db).catch((e: unknown) => {
    throw fromDatabaseError(e) ?? e;
  });
  if (before.upToDate) return { applied: [], latest: latestMigration(), alreadyUpToDate: true };
  const migrator = new Migrator({ db, provider });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) {
    // A database that is not there is the operator's to fix (exit 7), not a bug in a migration.
    const unavailable = fromDatabaseError(error);
    if (unavailable) throw unavailable;
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    if ((error as { code?: string }).code === '42501') {
      throw new CampaignError(
        'CONFIG_INVALID',
        `The migrations cannot run as this database role: ${(error as Error).message}. Run \`campaign db migrate\` as the role that owns the tables: set DATABASE_OWNER_URL to it (DATABASE_URL stays the app role; README, "Two database roles").`,
        { migration: failed, sqlstate: '42501', variable: 'DATABASE_OWNER_URL' },
      );
    }
    throw new CampaignError('INTERNAL', `Migration ${failed ?? '(before the first one)'} failed: ${(error as Error).message}`, { migration: failed });
  }
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  return { applied, latest: latestMigration(), alreadyUpToDate: applied.length === 0 };
}

export interface SchemaState {
  applied: string[];
  pending: string[];
  upToDate: boolean;
  /** Migrations in the database that this version does not know: a newer campaign wrote them. */
  unknown: string[];
}

export async function schemaState(db: Kysely<any>): Promise<SchemaState> {
  const known = Object.keys(migrations).sort();
  let applied: string[] = [];
  const exists = await sql<{ t: string | null }>`select to_regclass('public.kysely_migration')::text as t`.execute(db);
  if (exists.rows[0]?.t) {
    const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    applied = rows.rows.map((r) => r.name);
  }
  const pending = known.filter((n) => !applied.includes(n));
  const unknown = applied.filter((n) => !known.includes(n));
  return { applied, pending, unknown, upToDate: pending.length === 0 };
}

/** promise: a command never runs on a schema it does not understand. */
export async function assertSchemaCurrent(db: Kysely<any>): Promise<void> {
  const state = await schemaState(db);
  if (!state.upToDate) {
    throw new CampaignError(
      'SCHEMA_OUT_OF_DATE',
      `The campaign database schema is out of date (${state.pending.length} migration(s) pending: ${state.pending.join(', ')}). Run \`campaign db migrate\` (as the owner role: DATABASE_OWNER_URL when DATABASE_URL is the app role).`,
      { pending: state.pending },
    );
  }
}
