// `campaign db status|migrate|stop`: which database campaign uses and where its data lives, the
// schema state, migrations on request, and stopping the embedded server.
import type { Command } from 'commander';
import { maskValue } from '../core/config.js';
import { createDb } from '../core/db/create-db.js';
import type { EmbeddedInfo } from '../core/db/embedded.js';
import { type SchemaState, schemaState } from '../core/db/migrate.js';
import type { MigrateAndGrantResult } from '../core/db/open-database.js';
import { checkRoleName, connectedRoleReport, type RoleReport } from '../core/db/roles.js';
import { CampaignError, fromDatabaseError } from '../core/errors.js';
import type { CliKit } from './kit.js';
import { keyValue } from './render.js';

export interface DbStatus {
  kind: 'embedded' | 'url';
  /** The connection URL, password masked; null when the embedded server was never initialised. */
  url: string | null;
  running: boolean;
  /** A connection to the campaign database succeeded. */
  reachable: boolean;
  embedded: EmbeddedInfo | null;
  /** Null when the server could not be reached (status never starts the embedded server). */
  schema: SchemaState | null;
  /** The role the app connects as and whether it could change the audit log's triggers. */
  roles: RoleReport | null;
  /** The owner role's URL (DATABASE_OWNER_URL), password masked; null in a one-role set-up. */
  ownerUrl: string | null;
  error: string | null;
}

export interface DbStop {
  stopped: boolean;
  embedded: EmbeddedInfo;
}

export function register(program: Command, k: CliKit): void {
  const db = program.command('db').description('The campaign database: status, migrate, stop');

  db.command('status')
    .description('Show which database is used, where its data lives, whether it runs, and the schema state (never starts the embedded server)')
    .action(
      k.action(async (run): Promise<DbStatus> => {
        const config = run.config();
        if (config.databaseUrl) {
          const probe = await probeSchema(config.databaseUrl);
          const ownerUrl = maskValue('DATABASE_OWNER_URL', config.databaseOwnerUrl, true);
          return { kind: 'url', url: maskValue('DATABASE_URL', config.databaseUrl, true), ownerUrl, running: probe.reachable, embedded: null, ...probe };
        }
        const { embeddedStatus, embeddedUrls } = await import('../core/db/embedded.js');
        const info = await embeddedStatus(config.campaignHome);
        const appUrl = embeddedUrls(config.campaignHome)?.appUrl;
        const probe = info.running && appUrl ? await probeSchema(appUrl) : { reachable: false, schema: null, roles: null, error: null };
        return { kind: 'embedded', url: info.url, ownerUrl: null, running: info.running, embedded: info, ...probe };
      }, presentStatus),
    );

  db.command('migrate')
    .description(
      'Apply pending schema migrations as the owner role (DATABASE_OWNER_URL, else DATABASE_URL; the embedded database is also migrated on first use), then give the app role what it needs',
    )
    .option(
      '--app-role <name>',
      'the role the app connects as: created when missing, given SELECT/INSERT/UPDATE/DELETE on the tables but only INSERT and SELECT on the audit log, and owning nothing (default: the user of DATABASE_URL when DATABASE_OWNER_URL names another)',
    )
    .action(
      k.action(async (run): Promise<MigrateAndGrantResult> => {
        const appRole = run.opts.appRole === undefined ? undefined : checkRoleName(String(run.opts.appRole), '--app-role');
        const { migrateDatabase } = await import('../core/db/open-database.js');
        return migrateDatabase(run.config(), { appRole, log: run.log });
      }, presentMigrate),
    );

  db.command('stop')
    .description('Stop the embedded PostgreSQL server (the next campaign command starts it again)')
    .action(
      k.action(async (run): Promise<DbStop> => {
        const config = run.config();
        if (config.databaseUrl) {
          throw new CampaignError(
            'USAGE',
            'DATABASE_URL is set, so campaign uses an external PostgreSQL server, which campaign does not stop. Stop it with the tools that run it, or unset DATABASE_URL to manage the embedded server.',
            {},
          );
        }
        const { stopEmbedded } = await import('../core/db/embedded.js');
        const r = await stopEmbedded(config.campaignHome);
        return { stopped: r.stopped, embedded: r.info };
      }, presentStop),
    );
}

async function probeSchema(url: string): Promise<{ reachable: boolean; schema: SchemaState | null; roles: RoleReport | null; error: string | null }> {
  const handle = createDb(url, { max: 1, applicationName: 'campaign db status' });
  try {
    // A role not granted anything yet may not even read kysely_migration: the role line says so.
    const schema = await schemaState(handle.db).catch((e: unknown) => {
      if ((e as { code?: string }).code === '42501') return null;
      throw e;
    });
    return { reachable: true, schema, roles: await connectedRoleReport(handle.db), error: schema ? null : 'this role may not read the schema state (kysely_migration)' };
  } catch (e) {
    const known = fromDatabaseError(e);
    return { reachable: false, schema: null, roles: null, error: known ? known.message : (e as Error).message };
  } finally {
    await handle.db.destroy().catch(() => {});
  }
}

function describeSchema(s: DbStatus): string {
  if (!s.schema) {
    if (s.kind === 'embedded' && !s.running) return 'not checked: the server is not running (any campaign command that needs the database starts it)';
    if (s.kind === 'url') return 'not checked: the database is not reachable';
    return `not checked: ${s.error ?? 'the database is not reachable'}`;
  }
  const { applied, pending, unknown } = s.schema;
  const parts: string[] = [];
  if (pending.length === 0) parts.push(`up to date (${applied.length} migration${applied.length === 1 ? '' : 's'} applied)`);
  else parts.push(`${pending.length} migration(s) pending: ${pending.join(', ')}; run \`campaign db migrate\``);
  if (unknown.length > 0) parts.push(`written by a newer campaign: ${unknown.join(', ')}`);
  return parts.join('; ');
}

function describeRoles(s: DbStatus): string {
  const r = s.roles;
  if (!r) return 'not checked';
  if (!r.auditOwner) return `${r.role} (no schema yet)`;
  if (r.canAlterAudit) {
    return `${r.role}: ${r.superuser ? 'a superuser' : `owns the audit log (${r.auditOwner})`}, so it could disable its append-only triggers; run the app as another role (README, "Two database roles")`;
  }
  const missing = r.missing.length > 0 ? `; lacks rights on ${r.missing.join(', ')} (run \`campaign db migrate --app-role ${r.role}\` as the owner)` : '';
  return `${r.role} (app role; the audit log belongs to ${r.auditOwner}: INSERT and SELECT only)${missing}`;
}

export function presentStatus(s: DbStatus): string {
  if (s.kind === 'url') {
    return keyValue([
      ['database', 'external PostgreSQL (DATABASE_URL)'],
      ['url', s.url],
      ['reachable', s.reachable ? 'yes' : `no: ${s.error ?? 'unknown error'}`],
      ['owner', s.ownerUrl ? `${s.ownerUrl} (DATABASE_OWNER_URL: \`campaign db migrate\` runs as it)` : 'DATABASE_OWNER_URL unset: migrations run as DATABASE_URL'],
      ['role', describeRoles(s)],
      ['schema', describeSchema(s)],
    ]);
  }
  const e = s.embedded!;
  const state = !e.initialized
    ? 'not created yet (the first campaign command that needs the database creates and starts it)'
    : e.running
      ? `running (pid ${e.pid}, port ${e.port})`
      : 'stopped (the next campaign command that needs the database starts it)';
  return keyValue([
    ['database', `embedded PostgreSQL ${e.serverVersion} (DATABASE_URL is unset)`],
    ['state', state],
    ['url', e.url ?? 'none yet'],
    ['passwords', `${e.passwordFile} (mode 0600; owner ${e.ownerRole} migrates, every command connects as ${e.appRole})`],
    ['role', describeRoles(s)],
    ['data', e.dataDir],
    ['log', e.logFile],
    ['binaries', e.binDir],
    ['runs as', e.runAsUser ? `${e.runAsUser} (campaign runs as root; PostgreSQL refuses to)` : 'the current user'],
    ['home', `${e.home} (CAMPAIGN_HOME)`],
    ['schema', describeSchema(s)],
  ]);
}

export function presentMigrate(r: MigrateAndGrantResult): string {
  const lines = [
    r.alreadyUpToDate
      ? `The schema is up to date (latest migration: ${r.latest}).`
      : `Applied ${r.applied.length} migration(s) as ${r.migratedAs ?? 'the owner'}:\n${r.applied.map((m) => `  ${m}`).join('\n')}\nLatest: ${r.latest}.`,
  ];
  if (r.appRole) {
    lines.push(
      `App role ${r.appRole.role}${r.appRole.created ? ' (created)' : ''}: may read and write the tables, only INSERT and SELECT the audit log, owns nothing.`,
    );
    if (r.appRole.withoutPassword) lines.push(`It has no password yet: ALTER ROLE ${r.appRole.role} PASSWORD '…', then put it in DATABASE_URL.`);
  }
  return lines.join('\n');
}

export function presentStop(r: DbStop): string {
  if (!r.stopped) return `The embedded PostgreSQL server was not running (data: ${r.embedded.dataDir}).`;
  return `Stopped the embedded PostgreSQL server (data: ${r.embedded.dataDir}). The next campaign command that needs the database starts it again.`;
}
