// Chooses and opens the campaign database: DATABASE_URL when set (nothing else is touched), else
// the embedded server under CAMPAIGN_HOME, started on demand and migrated on first use.
//
// Two roles (README, "Two database roles"): commands connect as the app role (DATABASE_URL, or
// the embedded server's campaign_app); migrations run as the owner role (DATABASE_OWNER_URL, or
// the embedded superuser). The app role cannot migrate, so a command finding the schema behind or
// the app role's grants missing migrates and grants itself only on the embedded server; on a
// DATABASE_URL server it refuses and names the command to run.
import type { Config } from '../config.js';
import { CampaignError, fromDatabaseError } from '../errors.js';
import type { Log } from '../log.js';
import { createDb, type DbHandle } from './create-db.js';
import { migrateToLatest, type MigrateResult, schemaState } from './migrate.js';
import { type AppRoleGrant, connectedRoleReport, EMBEDDED_APP_ROLE, grantAppRole, urlPassword, urlUser } from './roles.js';

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

export interface ResolvedDatabase {
  /** What the app connects as. */
  url: string;
  /** What migrations run as; undefined when it is the same role as url (one-role set-up). */
  ownerUrl?: string;
  /** The role to grant the app's rights to after migrating; undefined in a one-role set-up. */
  appRole?: string;
  kind: 'url' | 'embedded';
}

export async function resolveDatabaseUrl(config: Config, log?: Log): Promise<ResolvedDatabase> {
  if (config.databaseUrl) {
    const ownerUrl = config.databaseOwnerUrl;
    const app = urlUser(config.databaseUrl);
    const twoRoles = ownerUrl !== undefined && app !== undefined && app !== urlUser(ownerUrl);
    return { url: config.databaseUrl, ownerUrl, appRole: twoRoles ? app : undefined, kind: 'url' };
  }
  if (config.databaseOwnerUrl) {
    throw new CampaignError(
      'CONFIG_INVALID',
      'DATABASE_OWNER_URL is set but DATABASE_URL is not. DATABASE_OWNER_URL is the owner role that runs migrations on your own PostgreSQL; set DATABASE_URL to the app role of the same database, or unset both to use the embedded database.',
      { variable: 'DATABASE_OWNER_URL' },
    );
  }
  const { ensureEmbedded } = await import('./embedded.js');
  const started = await ensureEmbedded(config.campaignHome, log);
  return { url: started.appUrl, ownerUrl: started.url, appRole: EMBEDDED_APP_ROLE, kind: 'embedded' };
}

export async function openDatabase(config: Config, options: OpenOptions = {}): Promise<OpenedDatabase> {
  const resolved = await resolveDatabaseUrl(config, options.log);
  const handle = createDb(resolved.url, { max: options.poolSize, applicationName: options.applicationName });
  try {
    if (!options.skipSchemaCheck) await ensureSchemaReady(handle, resolved);
  } catch (e) {
    await handle.db.destroy().catch(() => {});
    throw fromDatabaseError(e) ?? e;
  }
  return { ...handle, kind: resolved.kind };
}

/**
 * promise: a command never runs on a schema it does not understand, nor as a role that lacks the
 * rights the app needs. The embedded database belongs to this tool alone, so it is migrated (as
 * its owner) on first use, as documented in the README; a DATABASE_URL database only on request.
 */
async function ensureSchemaReady(handle: DbHandle, resolved: ResolvedDatabase): Promise<void> {
  // A role that may not even read kysely_migration has not been granted anything yet.
  const state = await schemaState(handle.db).catch((e: unknown) => {
    if ((e as { code?: string }).code === '42501') return undefined;
    throw e;
  });
  const roles = !state || state.upToDate ? await connectedRoleReport(handle.db) : undefined;
  if (state?.upToDate && roles!.missing.length === 0) return;
  if (resolved.kind === 'embedded') {
    const owner = createDb(resolved.ownerUrl!, { max: 1, applicationName: 'campaign migrate' });
    try {
      await migrateAndGrant(owner, resolved.appRole);
    } finally {
      await owner.db.destroy().catch(() => {});
    }
    return;
  }
  const asOwner = resolved.ownerUrl
    ? '`campaign db migrate` (it connects as DATABASE_OWNER_URL)'
    : '`campaign db migrate` as the role that owns the tables (set DATABASE_OWNER_URL to it when DATABASE_URL is the app role)';
  if (state && !state.upToDate) {
    throw new CampaignError(
      'SCHEMA_OUT_OF_DATE',
      `The campaign database schema is out of date (${state.pending.length} migration(s) pending: ${state.pending.join(', ')}). Run ${asOwner}.`,
      { pending: state.pending },
    );
  }
  const role = roles!.role;
  throw new CampaignError(
    'SCHEMA_OUT_OF_DATE',
    `The database role "${role}" (DATABASE_URL) cannot use ${roles!.missing.length} table(s) or sequence(s) the app needs: ${roles!.missing.slice(0, 8).join(', ')}${roles!.missing.length > 8 ? ', …' : ''}. ` +
      `Grant them: run \`campaign db migrate --app-role ${role}\` with DATABASE_OWNER_URL set to the owner role (README, "Two database roles").`,
    { role, missing: roles!.missing },
  );
}

export interface MigrateAndGrantResult extends MigrateResult {
  /** The app role set up after migrating; null in a one-role set-up. */
  appRole: AppRoleGrant | null;
  /** The role the migrations ran as. */
  migratedAs: string | null;
}

/** Migrates as the owner, then (two-role set-up) gives the app role exactly what it needs. */
export async function migrateAndGrant(owner: DbHandle, appRole: string | undefined, options: { appPassword?: string } = {}): Promise<MigrateAndGrantResult> {
  const result = await migrateToLatest(owner.db);
  const grant = appRole ? await grantAppRole(owner.db, appRole, { password: options.appPassword }) : null;
  return { ...result, appRole: grant, migratedAs: urlUser(owner.url) ?? null };
}

/** `campaign db migrate`: as DATABASE_OWNER_URL (else DATABASE_URL, else the embedded owner). */
export async function migrateDatabase(config: Config, options: { appRole?: string; log?: Log } = {}): Promise<MigrateAndGrantResult> {
  const resolved = await resolveDatabaseUrl(config, options.log);
  const appRole = options.appRole ?? resolved.appRole;
  const ownerUrl = resolved.ownerUrl ?? resolved.url;
  if (appRole && appRole === urlUser(ownerUrl)) {
    throw new CampaignError(
      'USAGE',
      `--app-role ${appRole} is the role the migrations run as (${resolved.ownerUrl ? 'DATABASE_OWNER_URL' : 'DATABASE_URL'}). The app role must be another role: set DATABASE_OWNER_URL to the owner and DATABASE_URL to the app role (README, "Two database roles").`,
      { appRole },
    );
  }
  const owner = createDb(ownerUrl, { max: 1, applicationName: 'campaign db migrate' });
  try {
    // A role created here gets the password DATABASE_URL gives it, when DATABASE_URL names it.
    const appPassword = appRole && appRole === urlUser(resolved.url) ? urlPassword(resolved.url) : undefined;
    return await migrateAndGrant(owner, appRole, { appPassword });
  } catch (e) {
    throw fromDatabaseError(e) ?? e;
  } finally {
    await owner.db.destroy().catch(() => {});
  }
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
