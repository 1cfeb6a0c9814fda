// What the audience core needs from a CRM, and nothing more: the core never sees HTTP,
// supabase-js or the CRM's own names. The Supabase implementation is supabase-crm-source.ts;
// tests may hand the service any other implementation.

/** Which users: one brand, optionally narrowed. Banned users never match (they are only counted). */
export interface AudienceFilter {
  brand: string;
  /** Only these CRM ids. */
  ids?: string[];
  /** Name or phone contains this text (case-insensitive). */
  search?: string;
  /** City equals this, compared on filterKey (case, stray spaces, NFKC). */
  city?: string;
  /**
   * The CRM's own spellings of `brand` and `city` (filterKey equal), resolved once by the service
   * with `spellings()` so the CRM can filter exactly (`in.(…)`) and counts stay exact. Without
   * them a source compares `brand` and `city` as given.
   */
  brandSpellings?: string[];
  citySpellings?: string[];
}

export type SpelledField = 'brand' | 'city';

/**
 * One CRM user as the CRM returned it, under canonical names. Values are `unknown` on purpose:
 * a CRM holds whatever was typed into it, and the core decides what a value means
 * (crm-user.ts), so an odd value becomes a reason, never a crash.
 */
export interface CrmRecord {
  id: unknown;
  name: unknown;
  /** Absent or null when the CRM has no such column. */
  first_name?: unknown;
  last_name?: unknown;
  phone: unknown;
  city: unknown;
  source: unknown;
  store_id: unknown;
  /** users.brand: the fallback brand, used only when the user has no registration. */
  brand: unknown;
  updated_at: unknown;
  /** The brand of each of the user's registration rows (all of them, whatever the filter). */
  registrations: unknown[];
}

export interface PageRequest {
  /** Keyset paging: rows whose id sorts after this one (the previous page's last `id`). */
  after?: string;
  /** Offset paging (preview); ignored when `after` is given. */
  offset?: number;
  limit: number;
  /** Also return the total number of matching users (an exact count). */
  withTotal?: boolean;
}

export interface CrmPage {
  /** Ordered by id. */
  rows: CrmRecord[];
  /** Set when `withTotal` was asked. */
  total: number | null;
}

export interface CrmSource {
  /** Where the CRM is, for messages (never holds the key). */
  readonly description: string;
  /** Every brand name that appears on a registration or as a user's own brand, sorted. */
  brandNames(signal?: AbortSignal): Promise<string[]>;
  /**
   * Every value of a field (a registration's or a user's brand; a user's city) whose filterKey
   * equals `key`, as the CRM spells it: 'Kinshasa', 'Kinshasa ', 'KINSHASA' for 'kinshasa'.
   */
  spellings(field: SpelledField, key: string, signal?: AbortSignal): Promise<string[]>;
  /** How many non-banned users match. */
  count(filter: AudienceFilter, signal?: AbortSignal): Promise<number>;
  /** How many banned users would otherwise match (reported as skipped). */
  countBanned(filter: AudienceFilter, signal?: AbortSignal): Promise<number>;
  /** One page of non-banned matching users, ordered by id. */
  page(filter: AudienceFilter, request: PageRequest, signal?: AbortSignal): Promise<CrmPage>;
}
