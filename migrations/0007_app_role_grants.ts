// promise 7 (issue 9, finding 5): the audit log is append-only for the role the app runs as, not
// only by courtesy. The triggers of 0001 refuse UPDATE/DELETE/TRUNCATE, but whoever owns
// admin_activity can disable or drop them. So migrations run as an owner role, and the app runs
// as a role that owns nothing and may only INSERT and SELECT the audit table.
//
// campaign_grant_app_role(role) holds the grant rules in the schema's own history, so a later
// migration that needs other rules replaces it, and an operator of a managed PostgreSQL can run
// it by hand (README, "Two database roles"). It is run by the owner (`campaign db migrate
// --app-role`, and the embedded server after each migration) and is idempotent: it first takes
// back every privilege the role has on the schema's tables and sequences, then grants:
// - SELECT, INSERT, UPDATE, DELETE on every table (no TRUNCATE, REFERENCES or TRIGGER);
// - on admin_activity only SELECT and INSERT, and USAGE (nextval) on its id sequence;
// - on kysely's migration tables only SELECT (the app checks the schema, it never changes it);
// - the same by default for tables and sequences the owner creates later.
// It refuses a role that is the owner, a superuser, a member of the owner, or that owns anything
// in the schema: any of those could change the audit table's triggers.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function campaign_grant_app_role(p_role name) returns void
    language plpgsql volatile as $fn$
    declare
      v_role oid;
      v_owned text;
    begin
      select oid into v_role from pg_roles where rolname = p_role;
      if v_role is null then
        raise exception 'role "%" does not exist', p_role using errcode = '42704';
      end if;
      if p_role = current_user then
        raise exception 'the app role "%" is the role running the migrations; the app must connect as another role', p_role using errcode = '42501';
      end if;
      if (select rolsuper from pg_roles where oid = v_role) then
        raise exception 'the app role "%" is a superuser: it could change anything, the audit log included', p_role using errcode = '42501';
      end if;
      if pg_has_role(p_role, current_user, 'MEMBER') then
        raise exception 'the app role "%" is a member of the owner role "%" and so has its rights; revoke that membership first (REVOKE % FROM %)', p_role, current_user, current_user, p_role using errcode = '42501';
      end if;
      select string_agg(c.relname, ', ' order by c.relname) into v_owned
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relowner = v_role;
      if v_owned is null then
        select string_agg(p.proname, ', ' order by p.proname) into v_owned
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and p.proowner = v_role;
      end if;
      if v_owned is not null then
        raise exception 'the app role "%" owns objects in schema public (%); give them to the owner first: REASSIGN OWNED BY % TO %', p_role, v_owned, p_role, current_user using errcode = '42501';
      end if;

      begin
        execute format('grant connect on database %I to %I', current_database(), p_role);
      exception when insufficient_privilege then
        null; -- not the database's owner: CONNECT is usually granted to PUBLIC anyway
      end;
      execute format('grant usage on schema public to %I', p_role);
      -- Before PostgreSQL 15 everyone may CREATE in public: the app role could plant a function
      -- that shadows one the owner's triggers and indexes call, and run code as the owner.
      begin
        execute 'revoke create on schema public from public';
        execute format('revoke create on schema public from %I', p_role);
      exception when insufficient_privilege then
        null; -- not the schema's owner: the README says how to revoke it on a managed server
      end;
      execute format('revoke all on all tables in schema public from %I', p_role);
      execute format('revoke all on all sequences in schema public from %I', p_role);
      execute format('grant select, insert, update, delete on all tables in schema public to %I', p_role);
      execute format('grant usage, select, update on all sequences in schema public to %I', p_role);
      execute format('revoke update, delete on table public.admin_activity from %I', p_role);
      execute format('revoke update on sequence public.admin_activity_id_seq from %I', p_role);
      if to_regclass('public.kysely_migration') is not null then
        execute format('revoke insert, update, delete on table public.kysely_migration from %I', p_role);
      end if;
      if to_regclass('public.kysely_migration_lock') is not null then
        execute format('revoke insert, update, delete on table public.kysely_migration_lock from %I', p_role);
      end if;
      execute format('alter default privileges in schema public grant select, insert, update, delete on tables to %I', p_role);
      execute format('alter default privileges in schema public grant usage, select, update on sequences to %I', p_role);
    end
    $fn$;
    revoke all on function campaign_grant_app_role(name) from public;
    revoke all on table admin_activity from public;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists campaign_grant_app_role(name)`.execute(db);
}
