// How audience filters compare values. A CRM holds whatever was typed ('Kinshasa ', 'KINSHASA',
// 'Lubumbashi  Nord', a non-breaking space, full-width letters), so a filter compares keys, on
// both sides: NFKC, trimmed, inner whitespace collapsed to one space, lower case.
//
// The rule lives here once. The database compares imported values with the same rule through
// campaign_filter_key(text) / campaign_filter_keys(text[]), whose text filterKeySql() generates
// (the queue build's and the contacts list's brand match); migration 0009 holds a frozen copy and
// tests/integration/filter-key-sql.test.ts checks that copy against the generator and the SQL
// against filterKey() on awkward input.

/**
 * What "whitespace" means, as the inside of a character class that reads the same in a JavaScript
 * `u` regular expression and a PostgreSQL ARE: exactly JavaScript's `\s` (and what trim() strips).
 */
export const FILTER_KEY_SPACE_CLASS = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const SPACES = new RegExp(`[${FILTER_KEY_SPACE_CLASS}]+`, 'gu');

/** Text as it should be shown and stored: NFKC, trimmed, inner whitespace collapsed; case kept. */
export function cleanSpelling(value: string): string {
  return value.normalize('NFKC').replace(SPACES, ' ').trim();
}

/** The comparison key of a filter value or a CRM value. */
export function filterKey(value: string): string {
  return cleanSpelling(value).toLowerCase();
}

/** The words of a key: what a CRM-side prefilter (ILIKE) can look for. */
export function keyWords(value: string): string[] {
  return filterKey(value).split(' ').filter(Boolean);
}

/**
 * The SQL twin of filterKey(). Lower case through the ICU root collation ("und-x-icu"), which maps
 * case like JavaScript's toLowerCase() whatever the database's own locale (the embedded server is
 * initialised with --locale=C, where lower() touches ASCII only). Both functions are IMMUTABLE so
 * that an index can be built on them (contacts_brand_keys).
 */
export function filterKeySql(): string {
  const ws = FILTER_KEY_SPACE_CLASS;
  return `
create or replace function campaign_filter_key(p_value text) returns text
language sql immutable strict parallel safe as $fn$
  select lower(btrim(regexp_replace(normalize(p_value, NFKC), '[${ws}]+', ' ', 'g')) collate "und-x-icu")
$fn$;

create or replace function campaign_filter_keys(p_values text[]) returns text[]
language sql immutable strict parallel safe as $fn$
  select coalesce(array_agg(public.campaign_filter_key(v) order by o), '{}'::text[]) from unnest(p_values) with ordinality as u(v, o)
$fn$;
`;
}
