// A CRM record → the contact columns the import writes. The CRM holds whatever was typed into
// it, so every value is checked here: text is cleaned (Postgres refuses NUL and lone
// surrogates), dates that are not dates become null, and a phone that is missing, odd or
// ambiguous makes the contact invalid with a reason, never an exception.
import { createHash } from 'node:crypto';
import { parsePhone } from '../phones/parse-phone.js';
import type { CrmRecord } from './crm-source.js';
import { cleanSpelling } from './filter-key.js';

export interface ContactInput {
  crm_id: string;
  name: string | null;
  first_name: string | null;
  phone_raw: string | null;
  chat_id: string | null;
  phone_valid: boolean;
  phone_invalid_reason: string | null;
  city: string | null;
  source: string | null;
  store_id: string | null;
  brand: string | null;
  registered_brands: string[];
  crm_updated_at: string | null;
  /** Hash of every column above: the import rewrites a contact only when it changes. */
  crm_hash: string;
}

export type MappedRecord = { ok: true; contact: ContactInput } | { ok: false; reason: string; raw: string };

// Postgres text cannot hold NUL, and jsonb refuses unpaired surrogates: both would fail the whole page.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const MAX_TEXT = 1000;

function clean(s: string): string {
  return s.replace(UNSTORABLE, (c) => (c === '\u0000' ? '' : '\uFFFD')).slice(0, MAX_TEXT);
}

/** Text from any CRM value: strings trimmed (blank → null), numbers as digits, anything else null. */
export function crmText(v: unknown): string | null {
  if (typeof v === 'string') {
    const t = clean(v).trim();
    return t === '' ? null : t;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (typeof v === 'bigint') return v.toString();
  return null;
}

function crmDate(v: unknown): string | null {
  if (typeof v !== 'string' && typeof v !== 'number') return null;
  const d = new Date(v);
  const t = d.getTime();
  if (Number.isNaN(t)) return null;
  const year = d.getUTCFullYear();
  return year >= 1 && year <= 9999 ? d.toISOString() : null;
}

/** A phone value as the CRM holds it, and what it means. Odd types are invalid with a reason. */
function crmPhone(v: unknown): { raw: string | null; chatId: string | null; reason: string | null } {
  if (v === null || v === undefined) return { raw: null, chatId: null, reason: 'no phone number' };
  let raw: string;
  if (typeof v === 'string') raw = clean(v);
  else if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) raw = String(v);
  else if (typeof v === 'bigint' && v > 0n) raw = v.toString();
  else {
    const shown = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return { raw: clean(shown ?? '').slice(0, 200), chatId: null, reason: `not a phone number (the CRM holds ${Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`})` };
  }
  if (raw.length > 64) return { raw: raw.slice(0, 200), chatId: null, reason: 'too long' };
  const parsed = parsePhone(raw);
  return parsed.valid ? { raw, chatId: parsed.chatId, reason: null } : { raw, chatId: null, reason: parsed.reason };
}

/** A user's brands: their registrations; users.brand only when they have none. Sorted, unique. */
export function brandsOf(record: Pick<CrmRecord, 'brand' | 'registrations'>): string[] {
  const regs = Array.isArray(record.registrations) ? record.registrations : [];
  const fromRegs = regs.map(crmSpelling).filter((b): b is string => b !== null);
  const list = regs.length > 0 ? fromRegs : [crmSpelling(record.brand)].filter((b): b is string => b !== null);
  return [...new Set(list)].sort();
}

/** A name, city or brand as shown and stored: NFKC, trimmed, inner whitespace collapsed. */
function crmSpelling(v: unknown): string | null {
  const t = crmText(v);
  return t === null ? null : cleanSpelling(t) || null;
}

export function firstWord(name: string | null): string | null {
  if (!name) return null;
  return name.split(/\s+/u)[0] || null;
}

export function contactHash(c: Omit<ContactInput, 'crm_hash'>): string {
  const parts = [
    c.crm_id, c.name, c.first_name, c.phone_raw, c.chat_id, c.phone_valid, c.phone_invalid_reason,
    c.city, c.source, c.store_id, c.brand, c.registered_brands, c.crm_updated_at,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

export function toContactInput(record: CrmRecord): MappedRecord {
  const crmId = crmText(record.id);
  if (crmId === null) return { ok: false, reason: 'no usable id', raw: JSON.stringify(record.id ?? null) };
  // The CRM's first_name when it has one; the first word of name only when it is null or blank.
  // Without a name, first and last name make it.
  const first = crmSpelling(record.first_name);
  const name = crmText(record.name) ?? ([first, crmSpelling(record.last_name)].filter(Boolean).join(' ') || null);
  const phone = crmPhone(record.phone);
  const base: Omit<ContactInput, 'crm_hash'> = {
    crm_id: crmId,
    name,
    first_name: first ?? firstWord(name),
    phone_raw: phone.raw,
    chat_id: phone.chatId,
    phone_valid: phone.chatId !== null,
    phone_invalid_reason: phone.reason,
    city: crmSpelling(record.city),
    source: crmText(record.source),
    store_id: crmText(record.store_id),
    brand: crmText(record.brand),
    registered_brands: brandsOf(record),
    crm_updated_at: crmDate(record.updated_at),
  };
  return { ok: true, contact: { ...base, crm_hash: contactHash(base) } };
}
