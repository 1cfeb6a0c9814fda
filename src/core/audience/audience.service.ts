// The live CRM audience: brands with their user counts, a preview compared with what was
// imported, and the import itself. The CRM is only ever read (CrmSource has no write); the
// campaign database is written only by importAudience, a page per statement.
import { z } from 'zod';
import { recordActivity } from '../audit/audit.repository.js';
import type { Context } from '../context.js';
import { CampaignError, parseWith } from '../errors.js';
import { findContactsByCrmIds, upsertContactsPage } from './contact-upsert.js';
import type { AudienceFilter, CrmPage, CrmSource } from './crm-source.js';
import { type ContactInput, toContactInput } from './crm-user.js';
import { cleanSpelling, filterKey } from './filter-key.js';

export const IMPORT_PAGE_SIZE = 1000;
/** --ids are sent as `id=in.(…)`: chunks keep the URL far below proxies' limits. */
const IDS_PER_REQUEST = 200;
const MAX_PREVIEW_LIMIT = 1000;

const text = (max: number) => z.string().trim().min(1, 'cannot be empty').max(max, `must be at most ${max} characters`);

const filterSchema = z.object({
  brand: text(200),
  ids: z.array(text(200)).min(1, 'needs at least one id').max(100_000).optional(),
  search: text(200).optional(),
  city: text(200).optional(),
});

function parseFilter(input: AudienceFilter): AudienceFilter {
  const f = parseWith(filterSchema, { brand: input.brand, ids: input.ids, search: input.search, city: input.city }, 'USAGE', 'The audience filter is not valid');
  return { brand: f.brand, ...(f.ids ? { ids: [...new Set(f.ids)] } : {}), ...(f.search ? { search: f.search } : {}), ...(f.city ? { city: f.city } : {}) };
}

/**
 * The filter with the CRM's own spellings of its brand and city (see filter-key.ts): one small
 * lookup each, so that every later count and page filters exactly, inside the CRM, and counts,
 * offsets and progress stay exact.
 */
async function withSpellings(source: CrmSource, f: AudienceFilter, signal?: AbortSignal): Promise<AudienceFilter> {
  const [brandSpellings, citySpellings] = await Promise.all([
    source.spellings('brand', f.brand, signal),
    f.city !== undefined ? source.spellings('city', f.city, signal) : Promise.resolve(undefined),
  ]);
  return { ...f, brandSpellings, ...(citySpellings ? { citySpellings } : {}) };
}

/** Runs `fn` over `items` with at most `limit` at a time, keeping the order of results. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ---------------------------------------------------------------------------------------------
// brands

export interface BrandCount {
  brand: string;
  /** Non-banned users with the brand: registrations, or users.brand when they have none. */
  users: number;
  /** Only when the CRM spells the brand in more than one way ('Vaseline', 'vaseline '): each spelling, all counted here. */
  spellings?: string[];
}

export interface BrandsResult {
  crm: string;
  brands: BrandCount[];
}

export async function listBrands(source: CrmSource, options: { signal?: AbortSignal } = {}): Promise<BrandsResult> {
  const names = await source.brandNames(options.signal);
  // Spellings that compare equal (filter-key.ts) are one brand, shown once.
  const groups = new Map<string, string[]>();
  for (const n of names) {
    const key = filterKey(n);
    if (key === '') continue;
    groups.set(key, [...(groups.get(key) ?? []), n]);
  }
  // The same rule and the same query as preview and import, so the numbers always agree.
  const counts = await mapLimit([...groups], 4, async ([key, spellings]): Promise<BrandCount> => {
    const shown = spellings.map(cleanSpelling).find((s) => s === key) ?? cleanSpelling(spellings[0]!);
    const users = await source.count({ brand: shown, brandSpellings: spellings }, options.signal);
    return spellings.length > 1 || spellings[0] !== shown ? { brand: shown, users, spellings } : { brand: shown, users };
  });
  return { crm: source.description, brands: counts.filter((b) => b.users > 0).sort((a, b) => (a.brand < b.brand ? -1 : a.brand > b.brand ? 1 : 0)) };
}

// ---------------------------------------------------------------------------------------------
// preview

export type SyncState = 'new' | 'changed' | 'up_to_date' | 'unusable';

export interface PreviewRow {
  crmId: string | null;
  name: string | null;
  phone: string | null;
  chatId: string | null;
  phoneValid: boolean;
  phoneInvalidReason: string | null;
  city: string | null;
  source: string | null;
  storeId: string | null;
  brands: string[];
  crmUpdatedAt: string | null;
  /** Against the campaign database: no contact yet, a contact that differs from the CRM row, or the same. */
  sync: SyncState;
  contactId: number | null;
  suppressed: boolean;
  optedOut: boolean;
}

export interface PreviewOptions extends AudienceFilter {
  limit?: number;
  offset?: number;
  signal?: AbortSignal;
}

export interface PreviewResult {
  brand: string;
  filters: { search: string | null; city: string | null; ids: string[] | null };
  /** Non-banned users matching the filter. */
  total: number;
  bannedExcluded: number;
  offset: number;
  limit: number;
  rows: PreviewRow[];
  /** Counts over the rows shown. */
  page: { new: number; changed: number; upToDate: number; invalidPhone: number };
}

/**
 * `limit` users from `offset`, however few rows the CRM gives per response (db-max-rows): the
 * offset moves by the rows received, until `limit` are read or a page comes back empty.
 */
async function readRange(source: CrmSource, filter: AudienceFilter, offset: number, limit: number, signal?: AbortSignal): Promise<CrmPage> {
  const first = await source.page(filter, { offset, limit, withTotal: true }, signal);
  const rows = [...first.rows];
  while (rows.length < limit && rows.length > 0 && (first.total === null || offset + rows.length < first.total)) {
    const more = await source.page(filter, { offset: offset + rows.length, limit: limit - rows.length }, signal);
    if (more.rows.length === 0) break;
    rows.push(...more.rows);
  }
  return { rows, total: first.total };
}

/** Reads a page of the live audience and compares it with the contacts; writes nothing. */
export async function previewAudience(ctx: Context, source: CrmSource, options: PreviewOptions): Promise<PreviewResult> {
  const parsed = parseFilter(options);
  const limit = options.limit ?? 50;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PREVIEW_LIMIT) throw new CampaignError('USAGE', `--limit must be a whole number from 1 to ${MAX_PREVIEW_LIMIT}; got ${limit}.`);
  if (!Number.isInteger(offset) || offset < 0) throw new CampaignError('USAGE', `--offset must be a whole number of at least 0; got ${offset}.`);
  const filter = await withSpellings(source, parsed, options.signal);
  const [page, banned] = await Promise.all([
    readRange(source, filter, offset, limit, options.signal),
    source.countBanned(filter, options.signal),
  ]);
  const mapped = page.rows.map(toContactInput);
  const contacts = await findContactsByCrmIds(
    ctx.db,
    mapped.flatMap((m) => (m.ok ? [m.contact.crm_id] : [])),
  );
  const summary = { new: 0, changed: 0, upToDate: 0, invalidPhone: 0 };
  const rows = mapped.map((m): PreviewRow => {
    if (!m.ok) {
      return {
        crmId: null, name: null, phone: null, chatId: null, phoneValid: false, phoneInvalidReason: null, city: null, source: null,
        storeId: null, brands: [], crmUpdatedAt: null, sync: 'unusable', contactId: null, suppressed: false, optedOut: false,
      };
    }
    const c = m.contact;
    const existing = contacts.get(c.crm_id);
    const sync: SyncState = !existing ? 'new' : existing.crmHash === c.crm_hash ? 'up_to_date' : 'changed';
    if (sync === 'new') summary.new++;
    else if (sync === 'changed') summary.changed++;
    else summary.upToDate++;
    if (!c.phone_valid) summary.invalidPhone++;
    return {
      crmId: c.crm_id,
      name: c.name,
      phone: c.phone_raw,
      chatId: c.chat_id,
      phoneValid: c.phone_valid,
      phoneInvalidReason: c.phone_invalid_reason,
      city: c.city,
      source: c.source,
      storeId: c.store_id,
      brands: c.registered_brands,
      crmUpdatedAt: c.crm_updated_at,
      sync,
      contactId: existing?.id ?? null,
      suppressed: existing?.suppressed ?? false,
      optedOut: existing?.optedOut ?? false,
    };
  });
  return {
    brand: filter.brand,
    filters: { search: filter.search ?? null, city: filter.city ?? null, ids: filter.ids ?? null },
    total: page.total ?? rows.length,
    bannedExcluded: banned,
    offset,
    limit,
    rows,
    page: summary,
  };
}

// ---------------------------------------------------------------------------------------------
// import

export interface ImportOptions extends AudienceFilter {
  /** Import every matching user; otherwise `ids` must be given. */
  all?: boolean;
  pageSize?: number;
  /** Stops after the page in flight: committed pages stay, a re-run completes the rest. */
  signal?: AbortSignal;
  onProgress?: (p: ImportProgress) => void;
}

export interface ImportProgress {
  brand: string;
  done: number;
  total: number;
  new: number;
  updated: number;
  unchanged: number;
}

export interface ImportResult {
  brand: string;
  filters: { all: boolean; ids: number | null; search: string | null; city: string | null };
  /** Non-banned users matching the filter when the import started. */
  matched: number;
  processed: number;
  new: number;
  updated: number;
  unchanged: number;
  /** Imported with phone_valid = false (kept, shown with the reason, never queued). */
  invalidPhone: number;
  /** Banned users matching the filter: never imported. */
  bannedSkipped: number;
  /** CRM rows without a usable id (cannot be imported at all). */
  unusable: number;
  /** With --ids: ids the CRM did not return (unknown, banned, or not of this brand). */
  notMatched: string[];
  pages: number;
  /** False when stopped (Ctrl-C): committed pages stay and a re-run completes the import. */
  complete: boolean;
  durationMs: number;
}

function describeFilters(f: AudienceFilter, all: boolean): ImportResult['filters'] {
  return { all, ids: f.ids ? f.ids.length : null, search: f.search ?? null, city: f.city ?? null };
}

function isAbort(e: unknown, signal: AbortSignal | undefined): boolean {
  return Boolean(signal?.aborted) || (e instanceof Error && e.name === 'AbortError');
}

/**
 * Pages through the matching CRM users in id order (keyset: `id > last`, so rows added during
 * the import cannot shift a page) and upserts each page in one statement. The next page is
 * fetched while the current one is written. Audited once, at the end (or when it stops early
 * after writing something), never with the service key.
 *
 * A short page is not the end: a CRM caps the rows of one response below the page size asked
 * for (PostgREST's db-max-rows, Supabase's "Max rows", 1000 by default and often less), silently,
 * with 206 Partial Content. So the cursor moves by the rows actually received (the last id), and
 * paging stops only at an empty page. Then what was received is checked against the count taken
 * with the first page (see checkReceived).
 */
export async function importAudience(ctx: Context, source: CrmSource, options: ImportOptions): Promise<ImportResult> {
  const filter = parseFilter(options);
  const all = Boolean(options.all);
  if (all === Boolean(filter.ids)) throw new CampaignError('USAGE', 'Say which users to import: --ids <id,...> or --all (with --search/--city to narrow it).');
  if (filter.ids && (filter.search || filter.city)) throw new CampaignError('USAGE', '--search and --city narrow --all; with --ids the ids already say who.');
  const pageSize = options.pageSize ?? IMPORT_PAGE_SIZE;
  const signal = options.signal;
  const started = performance.now();

  const result: ImportResult = {
    brand: filter.brand,
    filters: describeFilters(filter, all),
    matched: 0,
    processed: 0,
    new: 0,
    updated: 0,
    unchanged: 0,
    invalidPhone: 0,
    bannedSkipped: 0,
    unusable: 0,
    notMatched: [],
    pages: 0,
    complete: false,
    durationMs: 0,
  };
  const parts: AudienceFilter[] = filter.ids ? chunk(filter.ids, IDS_PER_REQUEST).map((ids) => ({ ...filter, ids })) : [filter];
  const seen = filter.ids ? new Set<string>() : undefined;
  // Until a part's first page says how many it matches, count its ids as the estimate.
  const partTotals: number[] = parts.map((p) => p.ids?.length ?? 0);
  const progress = () =>
    options.onProgress?.({ brand: filter.brand, done: result.processed, total: Math.max(result.processed, sum(partTotals)), new: result.new, updated: result.updated, unchanged: result.unchanged });

  // At most one page is being written at a time, in page order; its counts land in `result` only
  // once its statement has committed, so the result (and the audit) never count an unwritten page.
  let writing: Promise<void> | undefined;
  const write = (mapped: MappedPage): Promise<void> => {
    const w = upsertContactsPage(ctx.db, mapped.contacts, ctx.clock.now()).then((counts) => {
      result.new += counts.inserted;
      result.updated += counts.updated;
      result.unchanged += counts.unchanged;
      result.processed += mapped.contacts.length;
      result.invalidPhone += mapped.invalidPhone;
      result.unusable += mapped.unusable;
      for (const c of mapped.contacts) seen?.add(c.crm_id);
      result.pages++;
      progress();
    });
    w.catch(() => {}); // awaited below; this only stops an early rejection counting as unhandled
    return w;
  };

  try {
    // The cheap count goes first: a wrong key or an unreachable CRM fails here, before any write.
    const spelled = await withSpellings(source, filter, signal);
    for (let i = 0; i < parts.length; i++) parts[i] = { ...parts[i]!, brandSpellings: spelled.brandSpellings, ...(spelled.citySpellings ? { citySpellings: spelled.citySpellings } : {}) };
    result.bannedSkipped = sum(await mapLimit(parts, 4, (p) => source.countBanned(p, signal)));
    for (let i = 0; i < parts.length && !signal?.aborted; i++) {
      const part = parts[i]!;
      const fetchPage = (after: string | undefined): Promise<CrmPage> => {
        const p = source.page(part, { after, limit: pageSize, withTotal: after === undefined }, signal);
        p.catch(() => {}); // awaited below; this only stops an early rejection counting as unhandled
        return p;
      };
      let next: Promise<CrmPage> | undefined = fetchPage(undefined);
      let counted: number | null = null;
      let received = 0;
      // A three-stage pipeline: page k+2 is fetched (CRM) while page k+1 is mapped (this process,
      // phone parsing) while page k is written (Postgres). Measured in bench/import.ts.
      while (next) {
        const page: CrmPage = await next;
        if (counted === null) {
          counted = page.total ?? page.rows.length;
          partTotals[i] = counted;
          result.matched += counted;
        }
        if (page.rows.length === 0) break;
        received += page.rows.length;
        const last = page.rows.at(-1);
        // Only an empty page is the end: a capped CRM answers short pages all along, and once the
        // count is reached there may still be users added since (one more request per import).
        next = last && !signal?.aborted ? fetchPage(String(last.id)) : undefined;
        const mapped = mapPage(page);
        await writing;
        // Ctrl-C: the page being written when it came is finished; the next one is not started.
        if (signal?.aborted) break;
        writing = write(mapped);
      }
      await writing;
      if (!signal?.aborted) await checkReceived(source, part, counted ?? 0, received, signal);
    }
    await writing;
    result.complete = !signal?.aborted;
  } catch (e) {
    // Let a write in flight settle, so the counts say exactly which pages are committed.
    await writing?.catch(() => {});
    if (!isAbort(e, signal)) {
      result.durationMs = Math.round(performance.now() - started);
      if (result.pages > 0) await audit(ctx, result, e).catch(() => {});
      throw withProgress(e, result);
    }
  }
  if (seen && result.complete) result.notMatched = filter.ids!.filter((id) => !seen.has(id));
  result.durationMs = Math.round(performance.now() - started);
  if (result.complete || result.pages > 0) await audit(ctx, result);
  return result;
}

/**
 * The import read every page there is; did it get every user? Received = counted is the normal
 * case. The CRM may also have changed while the import ran (users added or removed): then what
 * was received must equal a second count taken now, and the import covers the CRM as it is at the
 * end. Anything else (fewer rows than counted with nothing removed, a CRM whose ids repeat so
 * `id > last` skips some, a proxy that drops rows) is CRM_INCOMPLETE, never a silent success: the
 * pages already written stay (each is whole), and the error says so.
 */
async function checkReceived(source: CrmSource, part: AudienceFilter, counted: number, received: number, signal: AbortSignal | undefined): Promise<void> {
  if (received === counted) return;
  const now = await source.count(part, signal);
  if (received === now) return;
  throw new CampaignError(
    'CRM_INCOMPLETE',
    `The CRM at ${source.description} returned ${received} users of the ${counted} it counted for ${part.brand}${now !== counted ? ` (${now} now)` : ''}: the import is incomplete. ` +
      'If users were being added or removed in the CRM, run the same import again when it is quiet; if the number stays short, the CRM skips rows when paging by id (are users.id values unique?) or something between here and the CRM drops rows.',
    { url: source.description, brand: part.brand, counted, received, countedAtEnd: now },
  );
}

interface MappedPage {
  contacts: ContactInput[];
  invalidPhone: number;
  unusable: number;
}

/** CRM records → contact rows, counting what cannot be imported; one row per CRM id. */
function mapPage(page: CrmPage): MappedPage {
  const byId = new Map<string, ContactInput>();
  let unusable = 0;
  let invalidPhone = 0;
  for (const record of page.rows) {
    const m = toContactInput(record);
    if (!m.ok) {
      unusable++;
      continue;
    }
    if (byId.has(m.contact.crm_id)) continue;
    byId.set(m.contact.crm_id, m.contact);
    if (!m.contact.phone_valid) invalidPhone++;
  }
  return { contacts: [...byId.values()], invalidPhone, unusable };
}

async function audit(ctx: Context, r: ImportResult, error?: unknown): Promise<void> {
  const counts = `${r.new} new, ${r.updated} updated, ${r.unchanged} unchanged, ${r.invalidPhone} invalid phone, ${r.bannedSkipped} banned skipped`;
  const state = error ? ' (stopped by an error; run it again to finish)' : r.complete ? '' : ' (interrupted; run it again to finish)';
  await recordActivity(
    ctx.db,
    {
      actor: ctx.actor,
      action: 'audience.import',
      entityType: 'audience',
      entityId: r.brand,
      summary: `Imported ${r.brand}: ${counts}${state}`,
      details: {
        brand: r.brand,
        filters: r.filters,
        counts: { matched: r.matched, processed: r.processed, new: r.new, updated: r.updated, unchanged: r.unchanged, invalidPhone: r.invalidPhone, bannedSkipped: r.bannedSkipped, unusable: r.unusable },
        pages: r.pages,
        complete: r.complete,
        durationMs: r.durationMs,
        ...(error ? { error: error instanceof CampaignError ? error.code : 'INTERNAL' } : {}),
      },
    },
    ctx.config,
  );
}

/** Adds what was committed before the failure to a CRM error, so the operator knows a re-run finishes it. */
function withProgress(e: unknown, r: ImportResult): unknown {
  if (!(e instanceof CampaignError) || r.pages === 0) return e;
  return new CampaignError(
    e.code,
    `${e.message}\n${r.pages} page(s) were imported before it stopped (${r.new} new, ${r.updated} updated, ${r.unchanged} unchanged); running the same import again completes it.`,
    { ...e.details, committed: { pages: r.pages, processed: r.processed, new: r.new, updated: r.updated, unchanged: r.unchanged } },
  );
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
