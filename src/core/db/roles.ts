// The two database roles (README, "Two database roles"): an owner role runs the migrations and
// owns every table; the app role, which every command connects as, owns nothing and has only
// what the app needs, so it cannot disable, drop or replace the triggers that keep the audit log
// append-only (promise 7). The grant rules themselves live in the schema
// (campaign_grant_app_role, migrations/0007_app_role_grants.ts).
import { type Kysely, sql } from 'kysely';
import { CampaignError } from '../errors.js';

/** The app role of the embedded server. */
export const EMBEDDED_APP_ROLE = 'campaign_app';

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkRoleName(name: string, field: string): string {
  if (!ROLE_NAME.test(name)) {
    throw new CampaignError(
      'USAGE',
      `${field} must be a PostgreSQL role name of lower-case letters, digits and underscores (starting with a letter or _), at most 63 characters; got "${name}".`,
      { field, value: name },
    );
  }
  return name;
}

export interface AppRoleGrant {
  role: string;
  /** The role did not exist and was created. */
  created: boolean;
  /** Created without a password: it cannot log in with one until `ALTER ROLE … PASSWORD`. */
  withoutPassword: boolean;
}

/**
 * Run as the owner, after migrating: creates the role when missing (LOGIN, no other attribute),
 * then applies campaign_grant_app_role. A refusal (the role is the owner, a superuser, owns
 * tables) becomes a CampaignError naming what to do.
 */
export async function grantAppRole(db: Kysely<any>, role: string, options: { password?: string } = {}): Promise<AppRoleGrant> {
  checkRoleName(role, '--app-role');
  // Concurrent GRANTs on one object fail ("tuple concurrently updated"): one at a time.
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('campaign.grant_app_role'))`.execute(trx);
    const found = await sql<{ n: number }>`select count(*)::int as n from pg_roles where rolname = ${role}`.execute(trx);
    let created = false;
    try {
      if (found.rows[0]!.n === 0) {
        const password = options.password ? sql` password ${sql.lit(options.password)}` : sql``;
        await sql`create role ${sql.id(role)} login nosuperuser nocreatedb nocreaterole${password}`.execute(trx);
        created = true;
      }
      await sql`select campaign_grant_app_role(${role})`.execute(trx);
    } catch (e) {
      throw roleError(e, role);
    }
    return { role, created, withoutPassword: created && !options.password };
  });
}

function roleError(e: unknown, role: string): CampaignError {
  const message = (e as Error).message;
  return new CampaignError(
    'USAGE',
    `Could not set up the app role "${role}": ${message}. The migrations must run as the owner role (DATABASE_OWNER_URL), and the app role must be another, ordinary role (README, "Two database roles").`,
    { role, cause: message, sqlstate: (e as { code?: string }).code },
  );
}

export interface RoleReport {
  /** The role this connection runs as. */
  role: string;
  superuser: boolean;
  /** Owner of admin_activity (null before the first migration). */
  auditOwner: string | null;
  /** This role can change the audit table's triggers: owner, superuser or member of the owner. */
  canAlterAudit: boolean;
  /** Tables and sequences of the schema this role cannot use as the app needs. */
  missing: string[];
}

/** What the connected role may do: read by `db status` and checked before a command runs. */
export async function connectedRoleReport(db: Kysely<any>): Promise<RoleReport> {
  const r = await sql<{ role: string; superuser: boolean; audit_owner: string | null; can_alter: boolean | null; missing: string[] }>`
    select current_user as role,
           (select rolsuper from pg_roles where rolname = current_user) as superuser,
           (select pg_get_userbyid(relowner) from pg_class where oid = to_regclass('public.admin_activity')) as audit_owner,
           (select pg_has_role(current_user, relowner, 'USAGE') from pg_class where oid = to_regclass('public.admin_activity')) as can_alter,
           array(
             select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = 'public'
                and ((c.relkind in ('r', 'p') and not has_table_privilege(c.oid, 'SELECT'))
                  or (c.relkind in ('r', 'p') and c.relname not like 'kysely\\_%' and not has_table_privilege(c.oid, 'INSERT'))
                  or (c.relkind = 'S' and not has_sequence_privilege(c.oid, 'USAGE')))
              order by 1
           ) as missing`.execute(db);
  const row = r.rows[0]!;
  return {
    role: row.role,
    superuser: Boolean(row.superuser),
    auditOwner: row.audit_owner,
    canAlterAudit: Boolean(row.superuser) || Boolean(row.can_alter),
    missing: row.missing ?? [],
  };
}

/** The user named in a postgres URL (decoded), or undefined. */
export function urlUser(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.username ? decodeURIComponent(u.username) : undefined;
  } catch {
    return undefined;
  }
}

/** The password named in a postgres URL (decoded), or undefined. */
export function urlPassword(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    return undefined;
  }
}
