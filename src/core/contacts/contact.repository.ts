// Every query on contacts outside the import (which writes pages in audience/contact-upsert.ts).
// `findX` returns undefined, `lockX(trx, id)` means FOR UPDATE; rows map to Contact explicitly.
import { type Selectable, sql, type Transaction } from 'kysely';
import type { Db } from '../context.js';
import type { ContactsTable, Database } from '../db/schema.js';

export interface Contact {
  id: number;
  crmId: string;
  name: string | null;
  firstName: string | null;
  /** The phone as the CRM holds it. */
  phone: string | null;
  chatId: string | null;
  phoneValid: boolean;
  phoneInvalidReason: string | null;
  city: string | null;
  source: string | null;
  storeId: string | null;
  /** users.brand in the CRM (the fallback); `brands` is what the audience rule uses. */
  crmBrand: string | null;
  brands: string[];
  crmUpdatedAt: string | null;
  /**
   * promise 4: suppressed or opted out as the contact stands, that is its own row OR its number
   * (another CRM row with the same number, or the number itself sending STOP). The when/why/source
   * fields describe the contact's own record when it has one, else the number's.
   */
  suppressed: boolean;
  suppressedReason: string | null;
  suppressedAt: string | null;
  optedOut: boolean;
  optedOutAt: string | null;
  optedOutSource: string | null;
  /** What this contact's own row records, apart from its number. */
  ownRecord: { suppressed: boolean; optedOut: boolean };
  /** Blocked although its own row is clean: the block came through its number. */
  blockedThroughNumber: boolean;
  firstImportedAt: string;
  lastImportedAt: string;
  updatedAt: string;
}

/** A contacts row with its number's block (left joined: a contact without a valid number has none). */
type ContactRow = Selectable<ContactsTable> & {
  n_opted_out: boolean | null;
  n_opted_out_at: Date | null;
  n_opted_out_source: string | null;
  n_suppressed: boolean | null;
  n_suppressed_at: Date | null;
  n_suppressed_reason: string | null;
};

/** contacts `c` joined with its number's block `n`: every read of a Contact starts here. */
const NUMBER_COLUMNS = [
  'n.opted_out as n_opted_out',
  'n.opted_out_at as n_opted_out_at',
  'n.opted_out_source as n_opted_out_source',
  'n.suppressed as n_suppressed',
  'n.suppressed_at as n_suppressed_at',
  'n.suppressed_reason as n_suppressed_reason',
] as const;

const joined = (db: Db | Transaction<Database>) => db.selectFrom('contacts as c').leftJoin('number_blocks as n', 'n.chat_id', 'c.chat_id');

function contactsWithNumber(db: Db | Transaction<Database>) {
  return joined(db).selectAll('c').select(NUMBER_COLUMNS);
}

/** The effective flags in SQL, for filters and counts (see Contact.suppressed). */
export const EFFECTIVE_SUPPRESSED = sql<boolean>`(c.suppressed or coalesce(n.suppressed, false))`;
export const EFFECTIVE_OPTED_OUT = sql<boolean>`(c.opted_out or coalesce(n.opted_out, false))`;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toContact(r: ContactRow): Contact {
  const numberSuppressed = r.n_suppressed === true;
  const numberOptedOut = r.n_opted_out === true;
  return {
    id: r.id,
    crmId: r.crm_id,
    name: r.name,
    firstName: r.first_name,
    phone: r.phone_raw,
    chatId: r.chat_id,
    phoneValid: r.phone_valid,
    phoneInvalidReason: r.phone_invalid_reason,
    city: r.city,
    source: r.source,
    storeId: r.store_id,
    crmBrand: r.brand,
    brands: r.registered_brands ?? [],
    crmUpdatedAt: iso(r.crm_updated_at),
    suppressed: r.suppressed || numberSuppressed,
    suppressedReason: r.suppressed ? r.suppressed_reason : numberSuppressed ? r.n_suppressed_reason : null,
    suppressedAt: iso(r.suppressed ? r.suppressed_at : numberSuppressed ? r.n_suppressed_at : null),
    optedOut: r.opted_out || numberOptedOut,
    optedOutAt: iso(r.opted_out ? r.opted_out_at : numberOptedOut ? r.n_opted_out_at : null),
    optedOutSource: r.opted_out ? r.opted_out_source : numberOptedOut ? r.n_opted_out_source : null,
    ownRecord: { suppressed: r.suppressed, optedOut: r.opted_out },
    blockedThroughNumber: (numberSuppressed && !r.suppressed) || (numberOptedOut && !r.opted_out),
    firstImportedAt: r.first_imported_at.toISOString(),
    lastImportedAt: r.last_imported_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

// Contact ids are bigserial; anything beyond int4 range here is a phone number, not an id.
const MAX_ID = 2 ** 53 - 1;

export async function findContactById(db: Db | Transaction<Database>, id: number): Promise<Contact | undefined> {
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_ID) return undefined;
  const row = await contactsWithNumber(db).where('c.id', '=', id).executeTakeFirst();
  return row ? toContact(row) : undefined;
}

/** Contacts whose chat id is this one, or whose raw phone is exactly this text (invalid phones have no chat id). */
export async function findContactsByPhone(db: Db | Transaction<Database>, chatId: string | null, raw: string): Promise<Contact[]> {
  const rows = await contactsWithNumber(db)
    .where((eb) => (chatId ? eb.or([eb('c.chat_id', '=', chatId), eb('c.phone_raw', '=', raw)]) : eb('c.phone_raw', '=', raw)))
    .orderBy('c.id')
    .limit(20)
    .execute();
  return rows.map(toContact);
}

/** Locks the contact's row FOR UPDATE (take its number's lock first: number-block.repository.ts). */
export async function lockContact(trx: Transaction<Database>, id: number): Promise<Contact> {
  const row = await contactsWithNumber(trx).where('c.id', '=', id).forUpdate('c').executeTakeFirstOrThrow();
  return toContact(row);
}

/**
 * The one brand match: a contact of alias `c` is registered for `brand` when one of its brands has
 * the brand's filter key (NFKC, trimmed, inner spaces collapsed, case-insensitive: filter-key.ts,
 * whose SQL twin migration 0009 installs). The import keeps a brand's case ('VASELINE'), so an
 * exact `@>` would miss it. The GIN index contacts_brand_keys serves this very expression.
 * Used by the contacts list and the queue build.
 */
export function contactHasBrand(brand: string) {
  return sql<boolean>`campaign_filter_keys(c.registered_brands) @> array[campaign_filter_key(${brand}::text)]`;
}

export interface ContactListFilter {
  brand?: string;
  validity?: 'valid' | 'invalid';
  suppressed?: boolean;
  optedOut?: boolean;
  search?: string;
  limit: number;
  offset: number;
}

/** `%`, `_` and `\` match themselves: the search is literal text, not a pattern. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Suppressed / opted out filter on the effective state (own row or number), like Contact's flags. */
function filtered(db: Db, f: Omit<ContactListFilter, 'limit' | 'offset'>) {
  let q = joined(db);
  if (f.brand !== undefined) q = q.where(contactHasBrand(f.brand));
  if (f.validity) q = q.where('c.phone_valid', '=', f.validity === 'valid');
  if (f.suppressed !== undefined) q = q.where(EFFECTIVE_SUPPRESSED, '=', f.suppressed);
  if (f.optedOut !== undefined) q = q.where(EFFECTIVE_OPTED_OUT, '=', f.optedOut);
  if (f.search) {
    const pattern = likeContains(f.search);
    const digits = f.search.replace(/\D/g, '');
    q = q.where((eb) =>
      eb.or([
        eb('c.name', 'ilike', pattern),
        eb('c.phone_raw', 'ilike', pattern),
        eb('c.crm_id', '=', f.search!),
        ...(digits.length >= 3 ? [eb('c.chat_id', 'like', likeContains(digits))] : []),
      ]),
    );
  }
  return q;
}

export async function listContactRows(db: Db, f: ContactListFilter): Promise<{ total: number; contacts: Contact[] }> {
  const [rows, total] = await Promise.all([
    filtered(db, f).selectAll('c').select(NUMBER_COLUMNS).orderBy('c.id').limit(f.limit).offset(f.offset).execute(),
    filtered(db, f).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { total: Number(total.n), contacts: rows.map(toContact) };
}

export interface ContactCounts {
  total: number;
  valid: number;
  invalid: number;
  suppressed: number;
  optedOut: number;
  /** Valid, not suppressed, not opted out (own row or number): what a queue build could reach. */
  reachable: number;
}

type CountsRow = { total: string; valid: string; suppressed: string; opted_out: string; reachable: string };

function toCounts(r: CountsRow): ContactCounts {
  const total = Number(r.total);
  const valid = Number(r.valid);
  return { total, valid, invalid: total - valid, suppressed: Number(r.suppressed), optedOut: Number(r.opted_out), reachable: Number(r.reachable) };
}

export async function countContacts(db: Db): Promise<ContactCounts> {
  const r = await sql<CountsRow>`
    select count(*) as total,
           count(*) filter (where c.phone_valid) as valid,
           count(*) filter (where ${EFFECTIVE_SUPPRESSED}) as suppressed,
           count(*) filter (where ${EFFECTIVE_OPTED_OUT}) as opted_out,
           count(*) filter (where c.phone_valid and not ${EFFECTIVE_SUPPRESSED} and not ${EFFECTIVE_OPTED_OUT}) as reachable
    from contacts c left join number_blocks n on n.chat_id = c.chat_id`.execute(db);
  return toCounts(r.rows[0]!);
}

export interface BrandContactCounts extends ContactCounts {
  brand: string;
}

/**
 * Per brand of registered_brands: a contact with two brands counts once in each. Brands are the
 * queue build's (contactHasBrand): spellings with one filter key are one brand, a contact holding
 * two of them counts once, and the brand is shown in its most common spelling.
 */
export async function countContactsByBrand(db: Db): Promise<BrandContactCounts[]> {
  const r = await sql<CountsRow & { brand: string }>`
    select mode() within group (order by b.brand) as brand,
           count(*) as total,
           count(*) filter (where c.phone_valid) as valid,
           count(*) filter (where ${EFFECTIVE_SUPPRESSED}) as suppressed,
           count(*) filter (where ${EFFECTIVE_OPTED_OUT}) as opted_out,
           count(*) filter (where c.phone_valid and not ${EFFECTIVE_SUPPRESSED} and not ${EFFECTIVE_OPTED_OUT}) as reachable
    from contacts c left join number_blocks n on n.chat_id = c.chat_id
    cross join lateral (
      select distinct on (campaign_filter_key(x)) campaign_filter_key(x) as key, x as brand from unnest(c.registered_brands) as u(x) order by campaign_filter_key(x), x
    ) as b
    group by b.key
    order by b.key`.execute(db);
  return r.rows.map((x) => ({ brand: x.brand, ...toCounts(x) }));
}

/** The most common reasons a phone is invalid, most frequent first. */
export async function countInvalidReasons(db: Db, limit = 10): Promise<Array<{ reason: string; contacts: number }>> {
  const rows = await db
    .selectFrom('contacts')
    .select((eb) => [eb.fn.coalesce('phone_invalid_reason', sql<string>`'unknown'`).as('reason'), eb.fn.countAll<string>().as('n')])
    .where('phone_valid', '=', false)
    .groupBy('phone_invalid_reason')
    .orderBy('n', 'desc')
    .orderBy('reason')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ reason: r.reason, contacts: Number(r.n) }));
}

export interface ContactQueueEntry {
  campaignId: number;
  campaignName: string;
  status: string;
  skipReason: string | null;
  sentAt: string | null;
}

/** Where a contact stands in every campaign queue: "who got it" from the contact's side. */
export async function queueEntriesOf(db: Db, contactId: number): Promise<ContactQueueEntry[]> {
  const rows = await db
    .selectFrom('send_queue as q')
    .innerJoin('campaigns as c', 'c.id', 'q.campaign_id')
    .select(['q.campaign_id', 'c.name', 'q.status', 'q.skip_reason', 'q.sent_at'])
    .where('q.contact_id', '=', contactId)
    .orderBy('q.campaign_id', 'desc')
    .limit(100)
    .execute();
  return rows.map((r) => ({ campaignId: r.campaign_id, campaignName: r.name, status: r.status, skipReason: r.skip_reason, sentAt: iso(r.sent_at) }));
}
