// Two lookups that must see what is stored, each served by an index (issue 9, hardening):
//
// 1. promise 3: the media assets a row refers to. Queue rows and test-run recipients keep the
//    payload that was sent forever, `media-asset://<id>` included, so an asset is in use while any
//    row's rendered or fallback payload names it, whatever its campaign says today (a DRAFT moved
//    to another asset after a test run). campaign_media_refs() lists the ids a row names; GIN
//    expression indexes on it make "which rows name asset N" an index lookup instead of a regular
//    expression over every payload of every queue. Measured on 5,000 rows: a sequential regular
//    expression scan 23 ms, the index 0.7 ms (a bitmap index scan); an insert pays ~10 µs a row
//    without media and ~27 µs a row with it (a 100,000-row image queue build: ~2.7 s more).
//    The payload columns are never updated after the insert, so the indexes keep rows' status
//    updates HOT.
// 2. Brands compared on their filter key (src/core/audience/filter-key.ts): the import keeps a
//    brand's case ('VASELINE', 'Vaseline'), the queue build and the contacts list compare keys.
//    FILTER_KEY_FUNCTION_SQL is filterKeySql()'s output at the time of writing, frozen for the
//    reason 0005 gives (a migration means the same thing forever);
//    tests/integration/filter-key-sql.test.ts compares it with the generator, and when the rule
//    changes that test fails and says to add a migration with the new text.
import { type Kysely, sql } from 'kysely';

// Most rows name no asset (text campaigns): strpos() answers those without the regular expression.
export const MEDIA_REFS_FUNCTION_SQL = `
create or replace function campaign_media_refs(p_payload jsonb, p_fallback jsonb) returns bigint[]
language sql immutable parallel safe as $fn$
  select case when strpos(t, 'media-asset://') = 0 then '{}'::bigint[] else (
    select coalesce(array_agg(distinct m[1]::bigint), '{}'::bigint[])
    from regexp_matches(t, 'media-asset://([1-9][0-9]{0,15})(?![0-9])', 'g') as m) end
  from (select coalesce(p_payload::text, '') || ' ' || coalesce(p_fallback::text, '') as t) as x
$fn$;
`;

export const FILTER_KEY_FUNCTION_SQL = `
create or replace function campaign_filter_key(p_value text) returns text
language sql immutable strict parallel safe as $fn$
  select lower(btrim(regexp_replace(normalize(p_value, NFKC), '[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]+', ' ', 'g')) collate "und-x-icu")
$fn$;

create or replace function campaign_filter_keys(p_values text[]) returns text[]
language sql immutable strict parallel safe as $fn$
  select coalesce(array_agg(public.campaign_filter_key(v) order by o), '{}'::text[]) from unnest(p_values) with ordinality as u(v, o)
$fn$;
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(MEDIA_REFS_FUNCTION_SQL).execute(db);
  await sql`create index send_queue_media_refs on send_queue using gin (campaign_media_refs(rendered_payload, fallback_payload))`.execute(db);
  await sql`create index test_recipients_media_refs on campaign_test_run_recipients using gin (campaign_media_refs(rendered_payload, fallback_payload))`.execute(db);
  await sql.raw(FILTER_KEY_FUNCTION_SQL).execute(db);
  await sql`create index contacts_brand_keys on contacts using gin (campaign_filter_keys(registered_brands))`.execute(db);
  // Nothing compares raw brands any more; an import need not keep a second index up to date.
  await sql`drop index if exists contacts_brands`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create index if not exists contacts_brands on contacts using gin (registered_brands)`.execute(db);
  await sql`drop index if exists contacts_brand_keys`.execute(db);
  await sql`drop index if exists test_recipients_media_refs`.execute(db);
  await sql`drop index if exists send_queue_media_refs`.execute(db);
  await sql`drop function if exists campaign_filter_keys(text[])`.execute(db);
  await sql`drop function if exists campaign_filter_key(text)`.execute(db);
  await sql`drop function if exists campaign_media_refs(jsonb, jsonb)`.execute(db);
}
