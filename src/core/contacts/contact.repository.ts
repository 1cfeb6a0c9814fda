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
  suppressed: boolean;
  suppressedReason: string | null;
  suppressedAt: string | null;
  optedOut: boolean;
  optedOutAt: string | null;
  optedOutSource: string | null;
  firstImportedAt: string;
  lastImportedAt: string;
  updatedAt: string;
}

type ContactRow = Selectable<ContactsTable>;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toContact(r: ContactRow): Contact {
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
    suppressed: r.suppressed,
    suppressedReason: r.suppressed_reason,
    suppressedAt: iso(r.suppressed_at),
    optedOut: r.opted_out,
    optedOutAt: iso(r.opted_out_at),
    optedOutSource: r.opted_out_source,
    firstImportedAt: r.first_imported_at.toISOString(),
    lastImportedAt: r.last_imported_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

// Contact ids are bigserial; anything beyond int4 range here is a phone number, not an id.
const MAX_ID = 2 ** 53 - 1;

export async function findContactById(db: Db | Transaction<Database>, id: number): Promise<Contact | undefined> {
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_ID) return undefined;
  const row = await db.selectFrom('contacts').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toContact(row) : undefined;
}

/** Contacts whose chat id is this one, or whose raw phone is exactly this text (invalid phones have no chat id). */
export async function findContactsByPhone(db: Db | Transaction<Database>, chatId: string | null, raw: string): Promise<Contact[]> {
  const rows = await db
    .selectFrom('contacts')
    .selectAll()
    .where((eb) => (chatId ? eb.or([eb('chat_id', '=', chatId), eb('phone_raw', '=', raw)]) : eb('phone_raw', '=', raw)))
    .orderBy('id')
    .limit(20)
    .execute();
  return rows.map(toContact);
}

export async function lockContact(trx: Transaction<Database>, id: number): Promise<Contact> {
  const row = await trx.selectFrom('contacts').selectAll().where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
  return toContact(row);
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

function filtered(db: Db, f: Omit<ContactListFilter, 'limit' | 'offset'>) {
  let q = db.selectFrom('contacts');
  // The GIN index on registered_brands serves `@>`.
  if (f.brand !== undefined) q = q.where(sql<boolean>`registered_brands @> array[${f.brand}]::text[]`);
  if (f.validity) q = q.where('phone_valid', '=', f.validity === 'valid');
  if (f.suppressed !== undefined) q = q.where('suppressed', '=', f.suppressed);
  if (f.optedOut !== undefined) q = q.where('opted_out', '=', f.optedOut);
  if (f.search) {
    const pattern = likeContains(f.search);
    const digits = f.search.replace(/\D/g, '');
    q = q.where((eb) =>
      eb.or([
        eb('name', 'ilike', pattern),
        eb('phone_raw', 'ilike', pattern),
        eb('crm_id', '=', f.search!),
        ...(digits.length >= 3 ? [eb('chat_id', 'like', likeContains(digits))] : []),
      ]),
    );
  }
  return q;
}

export async function listContactRows(db: Db, f: ContactListFilter): Promise<{ total: number; contacts: Contact[] }> {
  const [rows, total] = await Promise.all([
    filtered(db, f).selectAll().orderBy('id').limit(f.limit).offset(f.offset).execute(),
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
  /** Valid, not suppressed, not opted out: what a queue build could reach. */
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
           count(*) filter (where phone_valid) as valid,
           count(*) filter (where suppressed) as suppressed,
           count(*) filter (where opted_out) as opted_out,
           count(*) filter (where phone_valid and not suppressed and not opted_out) as reachable
    from contacts`.execute(db);
  return toCounts(r.rows[0]!);
}

export interface BrandContactCounts extends ContactCounts {
  brand: string;
}

/** Per brand of registered_brands: a contact with two brands counts once in each. */
export async function countContactsByBrand(db: Db): Promise<BrandContactCounts[]> {
  const r = await sql<CountsRow & { brand: string }>`
    select b.brand,
           count(*) as total,
           count(*) filter (where c.phone_valid) as valid,
           count(*) filter (where c.suppressed) as suppressed,
           count(*) filter (where c.opted_out) as opted_out,
           count(*) filter (where c.phone_valid and not c.suppressed and not c.opted_out) as reachable
    from contacts c cross join lateral unnest(c.registered_brands) as b(brand)
    group by b.brand
    order by b.brand`.execute(db);
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
