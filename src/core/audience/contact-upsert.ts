// Writing imported CRM users into contacts, a page at a time, and reading back what was last
// imported (for the preview's sync state).
import { sql } from 'kysely';
import type { Db } from '../context.js';
import type { ContactInput } from './crm-user.js';

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/**
 * One page of contacts in one statement: the page travels as a single jsonb parameter,
 * jsonb_to_recordset turns it into rows, and INSERT … ON CONFLICT (crm_id) inserts the new ones
 * and rewrites an existing one only when its crm_hash differs, so a re-import touches nothing
 * (updated_at and last_imported_at keep the time of the last real change). One statement is one
 * transaction: an import interrupted between pages leaves every committed page whole, and a
 * re-run completes the rest. No per-row round trips: measured in bench/import.ts against a plain
 * INSERT … SELECT of the same rows.
 *
 * Opt-out and suppression belong to this database, not the CRM: the SET list never names
 * suppressed* or opted_out*, so a re-import can never undo them (promise 4). They bind to the
 * number (number_blocks, migration 0006): a contact imported with a blocked number is blocked.
 * RETURNING (xmax = 0) tells an insert from an update; rows skipped by the WHERE return nothing.
 */
export async function upsertContactsPage(db: Db, rows: ContactInput[], now: Date): Promise<UpsertCounts> {
  if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  const result = await sql<{ inserted: boolean }>`
    insert into contacts as c (
      crm_id, name, first_name, phone_raw, chat_id, phone_valid, phone_invalid_reason, city, source, store_id,
      brand, registered_brands, crm_updated_at, crm_hash, first_imported_at, last_imported_at, created_at, updated_at
    )
    select r.crm_id, r.name, r.first_name, r.phone_raw, r.chat_id, r.phone_valid, r.phone_invalid_reason, r.city, r.source,
           r.store_id, r.brand, coalesce(r.registered_brands, '{}'), r.crm_updated_at, r.crm_hash,
           ${now}, ${now}, ${now}, ${now}
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(
      crm_id text, name text, first_name text, phone_raw text, chat_id text, phone_valid boolean,
      phone_invalid_reason text, city text, source text, store_id text, brand text, registered_brands text[],
      crm_updated_at timestamptz, crm_hash text
    )
    on conflict (crm_id) do update set
      name = excluded.name,
      first_name = excluded.first_name,
      phone_raw = excluded.phone_raw,
      chat_id = excluded.chat_id,
      phone_valid = excluded.phone_valid,
      phone_invalid_reason = excluded.phone_invalid_reason,
      city = excluded.city,
      source = excluded.source,
      store_id = excluded.store_id,
      brand = excluded.brand,
      registered_brands = excluded.registered_brands,
      crm_updated_at = excluded.crm_updated_at,
      crm_hash = excluded.crm_hash,
      last_imported_at = excluded.last_imported_at,
      updated_at = excluded.updated_at
    where c.crm_hash is distinct from excluded.crm_hash
    returning (xmax = 0) as inserted
  `.execute(db);
  let inserted = 0;
  for (const r of result.rows) if (r.inserted) inserted++;
  const updated = result.rows.length - inserted;
  return { inserted, updated, unchanged: rows.length - result.rows.length };
}

export interface ImportedContact {
  id: number;
  crmId: string;
  crmHash: string | null;
  suppressed: boolean;
  optedOut: boolean;
  lastImportedAt: string;
}

/** The contacts already imported for these CRM ids, by CRM id. */
export async function findContactsByCrmIds(db: Db, crmIds: string[]): Promise<Map<string, ImportedContact>> {
  const out = new Map<string, ImportedContact>();
  if (crmIds.length === 0) return out;
  // promise 4: suppressed / opted out as the contact stands: its own row or its number.
  const rows = await db
    .selectFrom('contacts as c')
    .leftJoin('number_blocks as n', 'n.chat_id', 'c.chat_id')
    .select(['c.id', 'c.crm_id', 'c.crm_hash', 'c.last_imported_at'])
    .select([sql<boolean>`(c.suppressed or coalesce(n.suppressed, false))`.as('suppressed'), sql<boolean>`(c.opted_out or coalesce(n.opted_out, false))`.as('opted_out')])
    .where('c.crm_id', '=', sql<string>`any(${crmIds}::text[])`)
    .execute();
  for (const r of rows) {
    out.set(r.crm_id, {
      id: r.id,
      crmId: r.crm_id,
      crmHash: r.crm_hash,
      suppressed: r.suppressed,
      optedOut: r.opted_out,
      lastImportedAt: r.last_imported_at.toISOString(),
    });
  }
  return out;
}
