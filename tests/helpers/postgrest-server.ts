// A small PostgREST-compatible HTTP server over a real Postgres schema, for tests and the bench
// (no PostgREST binary can be installed here). It answers the read query forms the project sends
// through supabase-js and nothing else: anything it does not understand is a 400, so an
// unsupported query can never pass silently. SQL is built with quoted identifiers (checked
// against the catalogue) and every value travels as a parameter.
//
// Supported: GET and HEAD on /rest/v1/<table>;
//   select=col, alias:col, alias:col::text, *, [alias:]table[!hint](cols) (one-to-many embeds,
//     empty parentheses embed without output);
//   filters col=[not.]{eq,neq,gt,gte,lt,lte,like,ilike,in,is}.value, embed.col=… (filters the
//     embedded rows), embed=[not.]is.null (top-level filtering on an embed);
//   or=(…), and=(…) with nested and()/or(), quoted values "…" with \ escapes, and embed.is.null
//     / embed.not.is.null inside them;
//   order=col[.asc|.desc][.nullsfirst|.nullslast],…; offset, limit;
//   Prefer: count=exact → Content-Range: 0-999/12345; Accept-Profile checked;
//   maxRows (PostgREST's db-max-rows, Supabase's "Max rows", default 1000 there): the range is
//     cut silently to offset..offset+maxRows-1, and the status follows PostgREST's
//     rangeStatusHeader: 206 Partial Content when a count was asked and fewer rows than the total
//     came back, 416 when the offset is past the total, 200 otherwise (always 200 without a count);
//     Content-Range is `*` when no row came back;
//   apikey and Authorization: Bearer checked → 401 with Supabase's or PostgREST's JSON body.
// Faults can be injected per request (drop the connection, answer a status, delay).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

export interface PostgrestServerOptions {
  /** The database holding the CRM tables. */
  databaseUrl: string;
  /** The Postgres schema served. */
  schema: string;
  /** The key clients must send as `apikey` and `Authorization: Bearer`. */
  apiKey: string;
  /** The profile name clients ask for (Accept-Profile); default `public`. */
  exposedAs?: string;
  port?: number;
  /** PostgREST's db-max-rows: at most this many rows per response, whatever limit was asked. */
  maxRows?: number;
}

export interface RequestInfo {
  method: string;
  table: string;
  params: URLSearchParams;
  prefer: string;
  /** 1-based count of requests to this table, faults included. */
  n: number;
}

export type FaultAction = { drop: true } | { status: number; body?: unknown } | { delayMs: number } | undefined;
/** May be async: a test can change the CRM's rows in the middle of an import, then answer normally. */
export type FaultFn = (info: RequestInfo) => FaultAction | Promise<FaultAction>;

export interface PostgrestServer {
  url: string;
  port: number;
  /** Every request received, in order. */
  requests: Array<{ method: string; path: string; query: string; status: number }>;
  setFault(fn: FaultFn | undefined): void;
  /** Changes db-max-rows (undefined: no cap). */
  setMaxRows(n: number | undefined): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message ?? status));
  }
}

const bad = (message: string, details: string | null = null): HttpError =>
  new HttpError(400, { code: 'PGRST100', details, hint: null, message });

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const RESERVED_PARAMS = new Set(['select', 'order', 'limit', 'offset', 'or', 'and', 'not.or', 'not.and']);

const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;

// ----------------------------------------------------------------------------------------------
// catalogue

interface Catalogue {
  columns: Map<string, Set<string>>;
  fks: Array<{ name: string; child: string; childCol: string; parent: string; parentCol: string }>;
}

async function loadCatalogue(pool: pg.Pool, schema: string): Promise<Catalogue> {
  const cols = await pool.query<{ t: string; c: string }>(
    `select c.relname as t, a.attname as c
       from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind in ('r','v','m','p') and a.attnum > 0 and not a.attisdropped`,
    [schema],
  );
  const fks = await pool.query<{ name: string; child: string; child_col: string; parent: string; parent_col: string }>(
    `select con.conname as name, cl.relname as child, ca.attname as child_col, pl.relname as parent, pa.attname as parent_col
       from pg_constraint con
       join pg_class cl on cl.oid = con.conrelid
       join pg_class pl on pl.oid = con.confrelid
       join pg_namespace n on n.oid = cl.relnamespace
       join pg_attribute ca on ca.attrelid = con.conrelid and ca.attnum = con.conkey[1]
       join pg_attribute pa on pa.attrelid = con.confrelid and pa.attnum = con.confkey[1]
      where con.contype = 'f' and n.nspname = $1 and cardinality(con.conkey) = 1`,
    [schema],
  );
  const columns = new Map<string, Set<string>>();
  for (const r of cols.rows) {
    if (!columns.has(r.t)) columns.set(r.t, new Set());
    columns.get(r.t)!.add(r.c);
  }
  return { columns, fks: fks.rows.map((r) => ({ name: r.name, child: r.child, childCol: r.child_col, parent: r.parent, parentCol: r.parent_col })) };
}

// ----------------------------------------------------------------------------------------------
// parsing

/** Splits on `sep` at depth 0, outside double quotes (backslash escapes inside quotes). */
function splitTop(s: string, sep = ','): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      cur += ch;
      if (ch === '\\' && i + 1 < s.length) cur += s[++i];
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (depth < 0) throw bad(`unbalanced parentheses in "${s}"`);
    if (ch === sep && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted || depth !== 0) throw bad(`unbalanced quotes or parentheses in "${s}"`);
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return v;
}

interface ColumnItem {
  kind: 'column';
  alias: string;
  column: string;
  cast: 'text' | null;
}
interface EmbedItem {
  kind: 'embed';
  alias: string;
  table: string;
  /** child column → parent column */
  childCol: string;
  parentCol: string;
  columns: ColumnItem[];
  filters: Cond[];
}
type SelectItem = ColumnItem | { kind: 'star' } | EmbedItem;

type Op = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'like' | 'ilike' | 'in' | 'is';
type Cond =
  | { kind: 'op'; column: string; negate: boolean; op: Op; value: string | string[] }
  | { kind: 'embed-null'; embed: string; negate: boolean }
  | { kind: 'logic'; op: 'and' | 'or'; negate: boolean; items: Cond[] };

const OPS = new Set<Op>(['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'in', 'is']);

function parseColumnItem(raw: string, table: string, cat: Catalogue): ColumnItem | { kind: 'star' } {
  if (raw === '*') return { kind: 'star' };
  const m = /^(?:([A-Za-z_][A-Za-z0-9_$]*):)?([A-Za-z_][A-Za-z0-9_$]*)(?:::([A-Za-z_]+))?$/.exec(raw);
  if (!m) throw bad(`unsupported select item "${raw}"`);
  const [, alias, column, cast] = m;
  if (cast !== undefined && cast !== 'text') throw bad(`unsupported cast "::${cast}" (only ::text)`);
  assertColumn(cat, table, column!);
  return { kind: 'column', alias: alias ?? column!, column: column!, cast: cast ? 'text' : null };
}

function assertColumn(cat: Catalogue, table: string, column: string): void {
  if (!cat.columns.get(table)?.has(column)) {
    throw new HttpError(400, { code: '42703', details: null, hint: null, message: `column ${table}.${column} does not exist` });
  }
}

function parseSelect(select: string, table: string, cat: Catalogue): SelectItem[] {
  if (select === '') throw bad('empty select');
  return splitTop(select).map((raw): SelectItem => {
    const m = /^(?:([A-Za-z_][A-Za-z0-9_$]*):)?([A-Za-z_][A-Za-z0-9_$]*)(?:!([A-Za-z_][A-Za-z0-9_$]*))?\((.*)\)$/s.exec(raw);
    if (!m) return parseColumnItem(raw, table, cat);
    const [, alias, child, hint, inner] = m;
    if (!cat.columns.has(child!)) {
      throw new HttpError(400, {
        code: 'PGRST200',
        details: `Searched for a foreign key relationship between '${table}' and '${child}' in the schema, but no matches were found.`,
        hint: null,
        message: `Could not find a relationship between '${table}' and '${child}' in the schema cache`,
      });
    }
    const rels = cat.fks.filter((f) => f.child === child && f.parent === table && (hint === undefined || f.name === hint || f.childCol === hint));
    if (rels.length === 0) {
      throw new HttpError(400, {
        code: 'PGRST200',
        details: `Searched for a foreign key relationship between '${table}' and '${child}'${hint ? ` using the hint '${hint}'` : ''} in the schema, but no matches were found.`,
        hint: null,
        message: `Could not find a relationship between '${table}' and '${child}' in the schema cache`,
      });
    }
    if (rels.length > 1) {
      throw new HttpError(300, { code: 'PGRST201', details: rels.map((r) => r.name).join(', '), hint: `Try changing '${child}' to '${child}!${rels[0]!.childCol}'`, message: `Could not embed because more than one relationship was found for '${table}' and '${child}'` });
    }
    const columns = inner!.trim() === '' ? [] : splitTop(inner!).map((c) => {
      const item = parseColumnItem(c, child!, cat);
      if (item.kind !== 'column') throw bad(`unsupported embedded select item "${c}"`);
      return item;
    });
    return { kind: 'embed', alias: alias ?? child!, table: child!, childCol: rels[0]!.childCol, parentCol: rels[0]!.parentCol, columns, filters: [] };
  });
}

/** `[not.]op.value` (the part after the column). `quoted` values may be wrapped in "…". */
function parseOpValue(column: string, text: string, inLogic: boolean): Cond {
  let rest = text;
  let negate = false;
  if (rest.startsWith('not.')) {
    negate = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf('.');
  if (dot < 0) throw bad(`"${text}" is not an operator and a value`);
  const op = rest.slice(0, dot) as Op;
  let value = rest.slice(dot + 1);
  if (!OPS.has(op)) throw bad(`unsupported operator "${op}"`);
  if (op === 'in') {
    if (!value.startsWith('(') || !value.endsWith(')')) throw bad(`in needs a list in parentheses: "${value}"`);
    const inner = value.slice(1, -1);
    return { kind: 'op', column, negate, op, value: inner === '' ? [] : splitTop(inner).map((v) => unquote(v.trim())) };
  }
  if (inLogic) value = unquote(value);
  if (op === 'is') {
    const v = value.toLowerCase();
    if (!['null', 'true', 'false', 'unknown'].includes(v)) throw bad(`is accepts null, true, false or unknown, not "${value}"`);
    return { kind: 'op', column, negate, op, value: v };
  }
  if (op === 'like' || op === 'ilike') value = value.replace(/\*/g, '%');
  return { kind: 'op', column, negate, op, value };
}

interface ParsedRequest {
  table: string;
  items: SelectItem[];
  where: Cond[];
  order: Array<{ column: string; desc: boolean; nulls: 'first' | 'last' | null }>;
  limit: number | null;
  offset: number;
}

function parseLogic(op: 'and' | 'or', negate: boolean, body: string, resolve: (field: string, rest: string) => Cond): Cond {
  if (!body.startsWith('(') || !body.endsWith(')')) throw bad(`${op} needs a list in parentheses: "${body}"`);
  const items = splitTop(body.slice(1, -1)).map((part): Cond => {
    const m = /^(not\.)?(and|or)(\(.*\))$/s.exec(part);
    if (m) return parseLogic(m[2] as 'and' | 'or', Boolean(m[1]), m[3]!, resolve);
    const dot = part.indexOf('.');
    if (dot < 0) throw bad(`"${part}" is not a filter`);
    return resolve(part.slice(0, dot), part.slice(dot + 1));
  });
  if (items.length === 0 || items.some((i) => i === undefined)) throw bad(`empty ${op}`);
  return { kind: 'logic', op, negate, items };
}

function parseRequest(table: string, params: URLSearchParams, cat: Catalogue): ParsedRequest {
  if (!cat.columns.has(table)) {
    throw new HttpError(404, { code: 'PGRST205', details: null, hint: null, message: `Could not find the table 'public.${table}' in the schema cache` });
  }
  const items = parseSelect(params.get('select') ?? '*', table, cat);
  const embeds = new Map(items.filter((i): i is EmbedItem => i.kind === 'embed').map((e) => [e.alias, e]));
  const rootField = (field: string, rest: string, inLogic: boolean): Cond => {
    const embed = embeds.get(field);
    if (embed) {
      if (rest === 'is.null' || rest === 'not.is.null') return { kind: 'embed-null', embed: field, negate: rest.startsWith('not.') };
      throw bad(`only is.null / not.is.null can filter on the embedded resource "${field}"`);
    }
    if (!IDENT.test(field)) throw bad(`"${field}" is not a column name`);
    assertColumn(cat, table, field);
    return parseOpValue(field, rest, inLogic);
  };
  const where: Cond[] = [];
  const order: ParsedRequest['order'] = [];
  let limit: number | null = null;
  let offset = 0;
  for (const [key, value] of params) {
    if (key === 'select') continue;
    if (key === 'limit' || key === 'offset') {
      if (!/^\d+$/.test(value)) throw bad(`${key} must be a non-negative integer, not "${value}"`);
      if (key === 'limit') limit = Number(value);
      else offset = Number(value);
      continue;
    }
    if (key === 'order') {
      for (const term of value.split(',')) {
        const [column, ...mods] = term.split('.');
        if (!column || !IDENT.test(column)) throw bad(`unsupported order "${term}"`);
        assertColumn(cat, table, column);
        let desc = false;
        let nulls: 'first' | 'last' | null = null;
        for (const mod of mods) {
          if (mod === 'asc') desc = false;
          else if (mod === 'desc') desc = true;
          else if (mod === 'nullsfirst') nulls = 'first';
          else if (mod === 'nullslast') nulls = 'last';
          else throw bad(`unsupported order modifier "${mod}"`);
        }
        order.push({ column, desc, nulls });
      }
      continue;
    }
    if (key === 'or' || key === 'and' || key === 'not.or' || key === 'not.and') {
      const negate = key.startsWith('not.');
      where.push(parseLogic(negate ? (key.slice(4) as 'and' | 'or') : (key as 'and' | 'or'), negate, value, (f, r) => rootField(f, r, true)));
      continue;
    }
    if (RESERVED_PARAMS.has(key)) continue;
    const dot = key.indexOf('.');
    if (dot >= 0) {
      const embed = embeds.get(key.slice(0, dot));
      const column = key.slice(dot + 1);
      if (!embed) throw bad(`"${key.slice(0, dot)}" is not an embedded resource in this request`);
      if (!IDENT.test(column)) throw bad(`unsupported filter on embedded resource: "${key}"`);
      assertColumn(cat, embed.table, column);
      embed.filters.push(parseOpValue(column, value, false));
      continue;
    }
    where.push(rootField(key, value, false));
  }
  return { table, items, where, order, limit, offset };
}

// ----------------------------------------------------------------------------------------------
// SQL

class Sql {
  params: unknown[] = [];
  p(v: unknown): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }
}

function condSql(c: Cond, alias: string, s: Sql, embedSql: (embed: string) => string): string {
  if (c.kind === 'logic') {
    const inner = c.items.map((i) => condSql(i, alias, s, embedSql)).join(c.op === 'and' ? ' and ' : ' or ');
    return `${c.negate ? 'not ' : ''}(${inner})`;
  }
  if (c.kind === 'embed-null') return `${c.negate ? '' : 'not '}exists (${embedSql(c.embed)})`;
  const col = `${alias}.${q(c.column)}`;
  let expr: string;
  switch (c.op) {
    case 'is':
      expr = `${col} is ${c.value as string}`;
      break;
    case 'in':
      expr = `${col} = any(${s.p(c.value)})`;
      break;
    default: {
      const sym = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=', like: 'like', ilike: 'ilike' }[c.op];
      expr = `${col} ${sym} ${s.p(c.value)}`;
    }
  }
  return c.negate ? `not (${expr})` : expr;
}

function buildSql(schema: string, r: ParsedRequest, withCount: boolean, maxRows: number | undefined): { body: string; count: string | null; params: unknown[]; countParams: number } {
  const s = new Sql();
  const root = 'r';
  const embeds = new Map(r.items.filter((i): i is EmbedItem => i.kind === 'embed').map((e, n) => [e.alias, { e, x: `x${n}` }]));
  const embedFrom = (alias: string): string => {
    const { e, x } = embeds.get(alias)!;
    const conds = [`${x}.${q(e.childCol)} = ${root}.${q(e.parentCol)}`, ...e.filters.map((f) => condSql(f, x, s, () => { throw bad('nested embeds are not supported'); }))];
    return `from ${q(schema)}.${q(e.table)} ${x} where ${conds.join(' and ')}`;
  };
  const existsSql = (alias: string) => `select 1 ${embedFrom(alias)}`;
  const where = r.where.map((c) => condSql(c, root, s, existsSql));
  const whereSql = where.length ? `where ${where.join(' and ')}` : '';
  // The count query uses only the filter parameters, which come first.
  const countParams = s.params.length;

  const list: string[] = [];
  for (const item of r.items) {
    if (item.kind === 'star') list.push(`${root}.*`);
    else if (item.kind === 'column') list.push(`${root}.${q(item.column)}${item.cast ? '::text' : ''} as ${q(item.alias)}`);
    else if (item.columns.length > 0) {
      const { x } = embeds.get(item.alias)!;
      const cols = item.columns.map((c) => `${x}.${q(c.column)}${c.cast ? '::text' : ''} as ${q(c.alias)}`).join(', ');
      list.push(`(select coalesce(json_agg(e), '[]'::json) from (select ${cols} ${embedFrom(item.alias)}) e) as ${q(item.alias)}`);
    }
  }
  if (list.length === 0) list.push('1 as "_"');
  const orderSql = r.order.length
    ? `order by ${r.order.map((o) => `${root}.${q(o.column)} ${o.desc ? 'desc' : 'asc'}${o.nulls ? ` nulls ${o.nulls}` : ''}`).join(', ')}`
    : '';
  const countSql = withCount ? `select count(*)::int8 as n from ${q(schema)}.${q(r.table)} ${root} ${whereSql}` : null;
  // db-max-rows cuts the requested range, silently (PostgREST's restrictRange).
  const limit = maxRows === undefined ? r.limit : Math.min(r.limit ?? maxRows, maxRows);
  const limitSql = limit !== null ? `limit ${s.p(limit)}` : '';
  const offsetSql = r.offset ? `offset ${s.p(r.offset)}` : '';
  const body = `select coalesce(json_agg(t), '[]'::json)::text as body, count(*)::int8 as n from (select ${list.join(', ')} from ${q(schema)}.${q(r.table)} ${root} ${whereSql} ${orderSql} ${limitSql} ${offsetSql}) t`;
  return { body, count: countSql, params: s.params, countParams };
}

// ----------------------------------------------------------------------------------------------
// server

function sqlError(e: unknown): HttpError {
  const err = e as { code?: string; message?: string; detail?: string; hint?: string };
  const code = err.code ?? '';
  const body = { code, details: err.detail ?? null, hint: err.hint ?? null, message: err.message ?? String(e) };
  if (code === '42P01') return new HttpError(404, body);
  if (/^(22|23|42)/.test(code)) return new HttpError(400, body);
  if (/^(08|57)/.test(code)) return new HttpError(503, body);
  return new HttpError(500, body);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, head = false): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(head ? undefined : text);
}

export async function startPostgrestServer(options: PostgrestServerOptions): Promise<PostgrestServer> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 4 });
  pool.on('error', () => {});
  const exposed = options.exposedAs ?? 'public';
  let catalogue = await loadCatalogue(pool, options.schema);
  let fault: FaultFn | undefined;
  let maxRows = options.maxRows;
  const perTable = new Map<string, number>();
  const requests: PostgrestServer['requests'] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number | 'dropped'> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const fail = (e: HttpError) => {
      send(res, e.status, e.body, {}, head);
      return e.status;
    };
    const apikey = req.headers.apikey;
    if (apikey !== options.apiKey) {
      // What Supabase's gateway answers before PostgREST sees the request.
      return fail(new HttpError(401, { message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' }));
    }
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return fail(new HttpError(401, { code: 'PGRST301', details: null, hint: null, message: 'No suitable key or wrong key type' }));
    }
    const m = /^\/rest\/v1\/([^/]+)$/.exec(url.pathname);
    if (!m) return fail(new HttpError(404, { code: 'PGRST125', details: null, hint: null, message: `Invalid path specified in request URL` }));
    if (method !== 'GET' && method !== 'HEAD') {
      return fail(new HttpError(405, { code: 'PGRST117', details: null, hint: null, message: `Unsupported HTTP method: ${method} (this test server is read only)` }));
    }
    const table = decodeURIComponent(m[1]!);
    const prefer = String(req.headers.prefer ?? '');
    const n = (perTable.get(table) ?? 0) + 1;
    perTable.set(table, n);
    const action = await fault?.({ method, table, params: url.searchParams, prefer, n });
    if (action && 'drop' in action) {
      req.socket.destroy();
      return 'dropped';
    }
    if (action && 'status' in action) {
      send(res, action.status, action.body ?? { code: '', details: null, hint: null, message: `injected ${action.status}` }, {}, head);
      return action.status;
    }
    if (action && 'delayMs' in action) await new Promise((r) => setTimeout(r, action.delayMs));

    const profile = req.headers['accept-profile'];
    if (profile !== undefined && profile !== exposed) {
      return fail(new HttpError(406, { code: 'PGRST106', details: null, hint: `Only the following schemas are exposed: ${exposed}`, message: `Invalid schema: ${profile}` }));
    }
    const preferTokens = prefer.split(',').map((t) => t.trim()).filter(Boolean);
    let withCount = false;
    for (const t of preferTokens) {
      if (t === 'count=exact') withCount = true;
      else if (t.startsWith('count=')) return fail(bad(`unsupported Prefer ${t} (only count=exact)`));
      else if (!/^(return=|missing=|handling=lenient)/.test(t)) return fail(bad(`unsupported Prefer ${t}`));
    }
    let parsed: ParsedRequest;
    try {
      parsed = parseRequest(table, url.searchParams, catalogue);
    } catch (e) {
      if (!(e instanceof HttpError) || (e.body.code !== '42703' && e.body.code !== 'PGRST205' && e.body.code !== 'PGRST200')) throw e;
      // Like PostgREST's schema cache: reload once before saying a table or column is missing.
      catalogue = await loadCatalogue(pool, options.schema);
      parsed = parseRequest(table, url.searchParams, catalogue);
    }
    const built = buildSql(options.schema, parsed, withCount, maxRows);
    let bodyRow: { body: string; n: number };
    let total: number | null = null;
    try {
      const [b, c] = await Promise.all([
        pool.query<{ body: string; n: string }>(built.body, built.params),
        built.count ? pool.query<{ n: string }>(built.count, built.params.slice(0, built.countParams)) : Promise.resolve(undefined),
      ]);
      bodyRow = { body: b.rows[0]!.body, n: Number(b.rows[0]!.n) };
      total = c ? Number(c.rows[0]!.n) : null;
    } catch (e) {
      return fail(sqlError(e));
    }
    // PostgREST's rangeStatusHeader and contentRangeH, as they are.
    const from = parsed.offset;
    const range = bodyRow.n > 0 && total !== 0 ? `${from}-${from + bodyRow.n - 1}` : '*';
    const headers = { 'Content-Range': `${range}/${total ?? '*'}` };
    if (total !== null && from > total) {
      return fail(new HttpError(416, { code: 'PGRST103', details: `An offset of ${from} was requested, but there are only ${total} rows.`, hint: null, message: 'Requested range not satisfiable' }));
    }
    const status = total !== null && bodyRow.n < total ? 206 : 200;
    send(res, status, bodyRow.body, headers, head);
    return status;
  };

  const server: Server = createServer((req, res) => {
    const entry = { method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, query: (req.url ?? '').split('?')[1] ?? '', status: 0 };
    requests.push(entry);
    handle(req, res).then(
      (status) => {
        entry.status = status === 'dropped' ? -1 : status;
      },
      (e) => {
        const err = e instanceof HttpError ? e : new HttpError(500, { code: '', details: null, hint: null, message: String((e as Error)?.message ?? e) });
        entry.status = err.status;
        if (!res.headersSent) send(res, err.status, err.body, {}, req.method === 'HEAD');
        else res.destroy();
      },
    );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setFault(fn) {
      fault = fn;
    },
    setMaxRows(n) {
      maxRows = n;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

// ----------------------------------------------------------------------------------------------
// CRM fixtures

export interface CrmUserSeed {
  id: number;
  name?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  phone?: string | null;
  city?: string | null;
  source?: string | null;
  store_id?: string | null;
  brand?: string | null;
  banned?: boolean | null;
  updated_at?: string;
  /** Registration rows (user_brand_registrations). */
  brands?: string[];
}

/** Creates the default CRM tables (users, user_brand_registrations) in `schema`. */
export async function createCrmTables(db: pg.Pool | pg.Client, schema: string): Promise<void> {
  await db.query(`
    create schema if not exists ${q(schema)};
    create table ${q(schema)}.users (
      id bigint primary key, name text, first_name text, last_name text, phone text, city text, source text, store_id text, brand text,
      banned boolean default false, updated_at timestamptz not null default now()
    );
    create table ${q(schema)}.user_brand_registrations (
      user_id bigint not null references ${q(schema)}.users(id), brand text not null
    );
    create index on ${q(schema)}.user_brand_registrations (user_id);
  `);
}

export async function insertCrmUsers(db: pg.Pool | pg.Client, schema: string, users: CrmUserSeed[]): Promise<void> {
  if (users.length === 0) return;
  await db.query(
    `insert into ${q(schema)}.users (id, name, first_name, last_name, phone, city, source, store_id, brand, banned, updated_at)
     select * from jsonb_to_recordset($1::jsonb) as r(id bigint, name text, first_name text, last_name text, phone text, city text, source text, store_id text, brand text, banned boolean, updated_at timestamptz)`,
    [JSON.stringify(users.map((u) => ({ ...u, banned: u.banned === undefined ? false : u.banned, updated_at: u.updated_at ?? '2026-01-01T10:00:00Z', brands: undefined })))],
  );
  const regs = users.flatMap((u) => (u.brands ?? []).map((brand) => ({ user_id: u.id, brand })));
  if (regs.length > 0) {
    await db.query(`insert into ${q(schema)}.user_brand_registrations (user_id, brand) select * from jsonb_to_recordset($1::jsonb) as r(user_id bigint, brand text)`, [
      JSON.stringify(regs),
    ]);
  }
}

/**
 * A CRM as people type it: stray and inner spaces, mixed case, a non-breaking space, full-width
 * letters, null and blank names, first_name set, blank or missing, unicode, two users with one
 * number, LIKE's own characters in a value. Ids 9001-9016.
 */
export const AWKWARD_CRM: CrmUserSeed[] = [
  { id: 9001, name: 'Jean-Pierre Mbuyi', first_name: 'JP', phone: '0811000001', city: 'Kinshasa ', brands: ['Vaseline '] },
  { id: 9002, name: 'Amani  Kabila', first_name: '', phone: '0811000002', city: 'KINSHASA', brands: ['VASELINE'] },
  { id: 9003, name: '  Ngalula Ḿbuyi ', first_name: '   ', phone: '0811000003', city: ' kinshasa\u00a0', brand: ' vaseline' },
  { id: 9004, name: null, first_name: 'Zoë', last_name: 'Ilunga', phone: '0811000004', city: 'Kinshasa', brands: ['vaseline'] },
  { id: 9005, name: null, first_name: null, phone: '0811000005', city: 'Goma', brands: ['vaseline'] },
  { id: 9006, name: 'Twin One', first_name: 'Twin', phone: '+243 811 000 006', city: 'Lubumbashi  Nord', brands: ['vaseline'] },
  { id: 9007, name: 'Twin Two', phone: '0811000006', city: 'lubumbashi nord', brands: ['vaseline'] },
  { id: 9008, name: 'Kinshasa Est Person', phone: '0811000008', city: 'Kinshasa-Est', brands: ['vaseline'] },
  { id: 9009, name: 'Percent Person', phone: '0811000009', city: 'St_Louis 100%', brands: ['vaseline'] },
  { id: 9010, name: 'Lookalike Person', phone: '0811000010', city: 'StXLouis 100x', brands: ['vaseline'] },
  { id: 9011, name: 'Ｆｕｌｌ Width', phone: '0811000011', city: 'Mbandaka', brands: ['ｖａｓｅｌｉｎｅ'] },
  { id: 9012, name: 'Other Brand', phone: '0811000012', city: 'Kinshasa', brands: ['Lifebuoy'] },
  { id: 9013, name: 'Banned Kin', phone: '0811000013', city: 'Kinshasa ', banned: true, brands: ['vaseline'] },
];

// Run directly (the bench does, to keep the server out of the importer's memory):
//   node --import tsx tests/helpers/postgrest-server.ts   with PGRST_DB_URL, PGRST_SCHEMA, PGRST_KEY
// It sends {port} to its parent (IPC) or prints it, and serves until killed.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startPostgrestServer({
    databaseUrl: process.env.PGRST_DB_URL ?? '',
    schema: process.env.PGRST_SCHEMA ?? 'public',
    apiKey: process.env.PGRST_KEY ?? '',
    port: process.env.PGRST_PORT ? Number(process.env.PGRST_PORT) : 0,
    ...(process.env.PGRST_MAX_ROWS ? { maxRows: Number(process.env.PGRST_MAX_ROWS) } : {}),
  });
  if (process.send) process.send({ port: server.port, url: server.url });
  else process.stdout.write(`${JSON.stringify({ port: server.port, url: server.url })}\n`);
  const stop = () => void server.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}
