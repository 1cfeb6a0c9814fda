// The CRM through supabase-js (PostgREST), read only: every request is a GET or a HEAD.
// supabase-js is loaded with a dynamic import() when an audience command runs, so no other
// command pays its start-up cost. Errors are converted once, here: 401/403 → CRM_REJECTED naming
// SUPABASE_SERVICE_KEY, unreachable → CRM_UNAVAILABLE naming SUPABASE_URL, a table or column the
// CRM lacks → CRM_REJECTED naming CRM_SCHEMA. The service key is never put in a message.
import { type Config, requireConfig } from '../config.js';
import { CampaignError } from '../errors.js';
import type { AudienceFilter, CrmPage, CrmRecord, CrmSource, PageRequest, SpelledField } from './crm-source.js';
import { type CrmMapping, parseCrmMapping, type UserColumnNames } from './crm-schema.js';
import { filterKey, keyWords } from './filter-key.js';

/** Per-request timeout: a CRM that hangs becomes CRM_UNAVAILABLE instead of a stuck import. */
const REQUEST_TIMEOUT_MS = 60_000;
const MAX_BRANDS = 10_000;

interface PgResponse {
  data: unknown;
  error: { message?: string; details?: string | null; hint?: string | null; code?: string } | null;
  count: number | null;
  status: number;
}

/** The part of postgrest-js's filter builder this file uses (the client is untyped: table names come from CRM_SCHEMA). */
interface Query extends PromiseLike<PgResponse> {
  eq(column: string, value: string): Query;
  gt(column: string, value: string): Query;
  not(column: string, operator: string, value: unknown): Query;
  in(column: string, values: string[]): Query;
  filter(column: string, operator: string, value: string): Query;
  ilike(column: string, pattern: string): Query;
  or(filters: string): Query;
  order(column: string, options: { ascending: boolean }): Query;
  range(from: number, to: number): Query;
  limit(rows: number): Query;
  abortSignal(signal: AbortSignal): Query;
  retry(enabled: boolean): Query;
}

interface Client {
  from(table: string): { select(columns: string, options?: { count?: 'exact'; head?: boolean }): Query };
}

export interface SupabaseCrmSourceOptions {
  url: string;
  serviceKey: string;
  mapping?: CrmMapping;
  timeoutMs?: number;
}

/** Builds the CRM source from the environment: SUPABASE_URL, SUPABASE_SERVICE_KEY and CRM_SCHEMA. */
export async function openCrmSource(config: Config, command: string): Promise<CrmSource> {
  const { supabaseUrl, supabaseServiceKey } = requireConfig(config, ['supabaseUrl', 'supabaseServiceKey'], command);
  const mapping = parseCrmMapping(config.crmSchema);
  return createSupabaseCrmSource({ url: supabaseUrl, serviceKey: supabaseServiceKey, mapping });
}

export async function createSupabaseCrmSource(options: SupabaseCrmSourceOptions): Promise<CrmSource> {
  const [{ createClient }, ws] = await Promise.all([import('@supabase/supabase-js'), import('ws')]);
  const mapping = options.mapping ?? parseCrmMapping(undefined);
  const client = createClient(options.url, options.serviceKey, {
    // Node 20 has no global WebSocket; realtime is never used here, but the client builds it.
    realtime: { transport: ws.default as never },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    db: { schema: mapping.schema, timeout: options.timeoutMs ?? REQUEST_TIMEOUT_MS },
  }) as unknown as Client;
  return new SupabaseCrmSource(client, mapping, displayUrl(options.url));
}

function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

// PostgREST's logic-tree syntax reserves , . : ( ) and quotes: values inside or=(…) are always
// double-quoted, with \ and " escaped.
function quoteValue(v: string): string {
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A LIKE pattern matching `text` literally: PostgREST turns * into %, so * cannot be searched for. */
function likeLiteral(text: string): string {
  return text.replace(/\*/g, '').replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * `in.("a","b")` with every value quoted: supabase-js quotes only values holding , ( or ), and a
 * spelling's own spaces ('Kinshasa ') must reach the CRM intact.
 */
function inList(q: Query, column: string, values: string[]): Query {
  return q.filter(column, 'in', `(${values.map(quoteValue).join(',')})`);
}

/** An ILIKE pattern for "contains these words in this order, whatever the spaces between". */
function wordsPattern(text: string): string {
  return `*${keyWords(text).map(likeLiteral).filter(Boolean).join('*')}*`;
}

/** Postgres' "undefined column": what PostgREST answers for a select naming a column the table lacks. */
const MISSING_COLUMN = new Set(['42703', 'PGRST204']);

class SupabaseCrmSource implements CrmSource {
  readonly description: string;
  /** The user columns in use: the mapping, less the probed defaults the CRM turned out to lack. */
  private u: UserColumnNames;
  private probed: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    private readonly mapping: CrmMapping,
    url: string,
  ) {
    this.description = url;
    this.u = { ...mapping.users.columns };
  }

  /**
   * first_name and last_name are used when the CRM has them: one `select=<column>&limit=1` each,
   * once per source. A CRM that lacks one answers 42703 and the column is left out; any other
   * answer (a wrong key, an unreachable CRM) is the usual error.
   */
  private ready(signal?: AbortSignal): Promise<void> {
    this.probed ??= (async () => {
      for (const k of this.mapping.users.probe) {
        const col = this.u[k];
        if (!col) continue;
        let q = this.client.from(this.mapping.users.table).select(col).limit(1).retry(false);
        if (signal) q = q.abortSignal(signal);
        const res = await q;
        if (res.error && MISSING_COLUMN.has(res.error.code ?? '')) this.u = { ...this.u, [k]: null };
        else if (res.error || res.status < 200 || res.status >= 300) throw this.toError(res, `users.${col}`);
      }
    })();
    this.probed.catch(() => {
      this.probed = undefined; // a failed probe is retried by the next call
    });
    return this.probed;
  }

  /** The select list: canonical names as aliases, so rows come back in the core's vocabulary. */
  private selectList(kind: 'rows' | 'count'): string {
    const u = this.u;
    const parts = kind === 'rows' ? [`id:${u.id}::text`] : [`id:${u.id}`];
    if (kind === 'rows') {
      for (const c of ['name', 'first_name', 'last_name', 'phone', 'city', 'source', 'store_id', 'brand', 'updated_at'] as const) {
        const col = u[c];
        if (col) parts.push(col === c ? c : `${c}:${col}`);
      }
    }
    const r = this.mapping.registrations;
    if (r) {
      const rel = r.hint ? `${r.table}!${r.hint}` : r.table;
      // Every registration of the user (registered_brands keeps the full list) …
      parts.push(kind === 'rows' ? `registrations:${rel}(brand:${r.columns.brand})` : `registrations:${rel}()`);
      // … and, filtered to the brand asked for, the one that decides whether the user matches.
      parts.push(`hit:${rel}()`);
    }
    return parts.join(',');
  }

  /**
   * The audience rule as PostgREST filters. A user belongs to a brand when one of their
   * registrations names it, or, only when they have no registration at all, when users.brand
   * names it: `hit.brand=eq.B&or=(hit.not.is.null,and(brand.eq.B,registrations.is.null))`
   * (null filtering on embedded resources). Banned users are excluded with `not.is.true`, so a
   * null `banned` counts as not banned.
   */
  private filtered(q: Query, f: AudienceFilter, banned: boolean): Query {
    const u = this.u;
    const r = this.mapping.registrations;
    q = q.not(u.id, 'is', null);
    if (u.banned) q = banned ? q.eq(u.banned, 'true') : q.not(u.banned, 'is', true);
    else if (banned) throw new Error('countBanned needs a banned column');
    // Every spelling of the brand the CRM uses (resolved by the service), matched exactly.
    const brands = f.brandSpellings ?? [f.brand];
    if (r) {
      q = inList(q, `hit.${r.columns.brand}`, brands);
      q = u.brand ? q.or(`hit.not.is.null,and(${u.brand}.in.(${brands.map(quoteValue).join(',')}),registrations.is.null)`) : q.not('hit', 'is', null);
    } else {
      q = inList(q, u.brand!, brands);
    }
    if (f.ids) q = q.in(u.id, f.ids);
    if (f.search) {
      const pattern = quoteValue(wordsPattern(f.search));
      q = q.or(`${u.name}.ilike.${pattern},${u.phone}.ilike.${pattern}`);
    }
    if (f.city) {
      if (!u.city) throw noCity();
      q = f.citySpellings ? inList(q, u.city, f.citySpellings) : q.ilike(u.city, likeLiteral(f.city));
    }
    return q;
  }

  private async run(q: Query, what: string, signal?: AbortSignal, options: { rangePastEnd?: boolean } = {}): Promise<PgResponse> {
    // No silent retries: an import is idempotent and resumable, so a re-run is the retry, and a
    // refused connection should fail now rather than after supabase-js's 7 s of backoff.
    q = q.retry(false);
    if (signal) q = q.abortSignal(signal);
    const res = await q;
    if (signal?.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
    // PostgREST answers an offset past the total (with a count asked) with 416: no rows, not a fault.
    if (options.rangePastEnd && res.status === 416) return { data: [], error: null, count: null, status: 416 };
    // 206 Partial Content (a count was asked and not every row came back) is a success like 200.
    if (res.error || res.status < 200 || res.status >= 300) throw this.toError(res, what);
    return res;
  }

  private toError(res: PgResponse, what: string): CampaignError {
    const url = this.description;
    const e = res.error ?? {};
    const code = e.code ?? '';
    const text = [e.message, e.details && e.details.length < 300 ? e.details : undefined].filter(Boolean).join(': ');
    const details = { url, status: res.status, code: code || undefined, what, crmMessage: e.message ?? null, hint: e.hint ?? null };
    if (res.status === 401 || res.status === 403) {
      return new CampaignError(
        'CRM_REJECTED',
        `The CRM at ${url} refused the request (HTTP ${res.status}${e.message ? `: ${e.message}` : ''}). Check SUPABASE_SERVICE_KEY: it must be the project's service_role key (Project Settings → API).`,
        details,
      );
    }
    if (res.status === 0) {
      const cause = /\(([A-Z][A-Z0-9_]+)\)/.exec(e.details ?? '')?.[1] ?? (/abort/i.test(`${e.message} ${e.hint}`) ? 'TIMEOUT' : undefined);
      const how =
        cause === 'ENOTFOUND' || cause === 'EAI_AGAIN'
          ? 'its host name does not resolve'
          : cause === 'ECONNREFUSED'
            ? 'the connection was refused'
            : cause === 'TIMEOUT'
              ? 'it did not answer in time'
              : cause === 'ECONNRESET' || cause === 'UND_ERR_SOCKET' || cause === 'EPIPE'
                ? 'the connection was lost'
                : `the request failed (${/Caused by: [A-Za-z]*Error: ([^\n]+)/.exec(e.details ?? '')?.[1] ?? e.message ?? 'network error'})`;
      return new CampaignError(
        'CRM_UNAVAILABLE',
        `The CRM at ${url} cannot be reached: ${how}${cause ? ` (${cause})` : ''}. Check SUPABASE_URL and that the project is up; an interrupted import can simply be run again.`,
        { ...details, cause: cause ?? null },
      );
    }
    if (res.status >= 500) {
      return new CampaignError('CRM_UNAVAILABLE', `The CRM at ${url} failed while reading ${what} (HTTP ${res.status}${text ? `: ${text}` : ''}). Try again later; an interrupted import can simply be run again.`, details);
    }
    if (code === 'PGRST205' || code === '42P01' || code === 'PGRST200' || code === '42703' || code === 'PGRST100' || code === 'PGRST106') {
      return new CampaignError(
        'CRM_REJECTED',
        `The CRM does not have the tables or columns campaign expects (${code}: ${text}). If it names them differently, map them in CRM_SCHEMA (docs/crm-shape.md).`,
        details,
      );
    }
    return new CampaignError('CRM_REJECTED', `The CRM rejected the query for ${what} (HTTP ${res.status}${code ? `, ${code}` : ''}${text ? `: ${text}` : ''}).`, details);
  }

  async spellings(field: SpelledField, key: string, signal?: AbortSignal): Promise<string[]> {
    await this.ready(signal);
    const want = filterKey(key);
    const found = new Set<string>();
    const r = this.mapping.registrations;
    if (field === 'brand') {
      // Brands are few: every distinct value is read (as `brands` does) and the key decides, so
      // even a spelling in full-width letters is found.
      if (r) for (const v of await this.distinct(r.table, r.columns.brand, false, signal)) found.add(v);
      if (this.u.brand) for (const v of await this.distinct(this.mapping.users.table, this.u.brand, false, signal)) found.add(v);
    } else {
      // Cities are many: the CRM narrows by ILIKE on the words first (`*lubumbashi*nord*`), then
      // the key decides. A CRM value in compatibility letters (full-width) escapes that ILIKE.
      const pattern = wordsPattern(key);
      if (!this.u.city) throw noCity();
      for (const v of await this.distinct(this.mapping.users.table, this.u.city, false, signal, pattern)) found.add(v);
    }
    return [...found].filter((v) => filterKey(v) === want).sort();
  }

  async brandNames(signal?: AbortSignal): Promise<string[]> {
    await this.ready(signal);
    const names = new Set<string>();
    const r = this.mapping.registrations;
    if (r) for (const b of await this.distinct(r.table, r.columns.brand, false, signal)) names.add(b);
    if (this.u.brand) for (const b of await this.distinct(this.mapping.users.table, this.u.brand, true, signal)) names.add(b);
    return [...names].filter((b) => b.trim() !== '').sort();
  }

  /**
   * The distinct values of one column without aggregates (Supabase disables them): a loose index
   * scan over PostgREST, one request per value (`col=gt.<previous>&order=col&limit=1`). Brands
   * are few, so this costs a handful of small requests instead of reading every row.
   */
  private async distinct(table: string, column: string, skipBanned: boolean, signal?: AbortSignal, pattern?: string): Promise<string[]> {
    const out: string[] = [];
    let after: string | undefined;
    for (let i = 0; i < MAX_BRANDS; i++) {
      let q = this.client.from(table).select(`value:${column}`);
      q = after === undefined ? q.not(column, 'is', null) : q.gt(column, after);
      if (skipBanned && this.u.banned) q = q.not(this.u.banned, 'is', true);
      if (pattern !== undefined) q = q.ilike(column, pattern);
      const res = await this.run(q.order(column, { ascending: true }).limit(1), `${table}.${column}`, signal);
      const row = (res.data as Array<{ value: unknown }> | null)?.[0];
      if (!row || row.value === null || row.value === undefined) break;
      after = String(row.value);
      out.push(after);
    }
    return out;
  }

  async count(filter: AudienceFilter, signal?: AbortSignal): Promise<number> {
    await this.ready(signal);
    if (filter.brandSpellings?.length === 0 || filter.citySpellings?.length === 0) return 0;
    const q = this.filtered(this.client.from(this.mapping.users.table).select(this.selectList('count'), { count: 'exact', head: true }), filter, false);
    const res = await this.run(q, 'the user count', signal);
    return res.count ?? 0;
  }

  async countBanned(filter: AudienceFilter, signal?: AbortSignal): Promise<number> {
    await this.ready(signal);
    if (!this.u.banned || filter.brandSpellings?.length === 0 || filter.citySpellings?.length === 0) return 0;
    const q = this.filtered(this.client.from(this.mapping.users.table).select(this.selectList('count'), { count: 'exact', head: true }), filter, true);
    const res = await this.run(q, 'the banned user count', signal);
    return res.count ?? 0;
  }

  async page(filter: AudienceFilter, request: PageRequest, signal?: AbortSignal): Promise<CrmPage> {
    await this.ready(signal);
    if (filter.brandSpellings?.length === 0 || filter.citySpellings?.length === 0) return { rows: [], total: request.withTotal ? 0 : null };
    const select = this.selectList('rows');
    let q = this.filtered(
      this.client.from(this.mapping.users.table).select(select, request.withTotal ? { count: 'exact' } : undefined),
      filter,
      false,
    ).order(this.u.id, { ascending: true });
    if (request.after !== undefined) q = q.gt(this.u.id, request.after).limit(request.limit);
    else q = q.range(request.offset ?? 0, (request.offset ?? 0) + request.limit - 1);
    const res = await this.run(q, 'users', signal, { rangePastEnd: true });
    const total = request.withTotal ? (res.status === 416 ? await this.count(filter, signal) : (res.count ?? null)) : null;
    const data = Array.isArray(res.data) ? (res.data as Array<Record<string, unknown>>) : [];
    const rows: CrmRecord[] = data.map((d) => ({
      id: d.id,
      name: d.name,
      first_name: d.first_name ?? null,
      last_name: d.last_name ?? null,
      phone: d.phone,
      city: d.city ?? null,
      source: d.source ?? null,
      store_id: d.store_id ?? null,
      brand: d.brand ?? null,
      updated_at: d.updated_at ?? null,
      registrations: Array.isArray(d.registrations) ? d.registrations.map((x) => (x && typeof x === 'object' ? (x as { brand?: unknown }).brand : null)) : [],
    }));
    return { rows, total };
  }
}

function noCity(): CampaignError {
  return new CampaignError('USAGE', '--city cannot be used: CRM_SCHEMA says this CRM has no city column (users.columns.city is null).');
}
