// The CRM audience through supabase-js, against a PostgREST-compatible server over real CRM
// tables (a schema of this file's test database), importing into real contacts: the brand rule
// (registrations, fallback brand, banned), every phone case, sync states, idempotent re-import,
// an import broken half way and completed by a re-run, CRM errors that write nothing, odd CRM
// values, suppression kept across imports (promise 4) and a CRM with renamed tables and columns.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importAudience, listBrands, previewAudience } from '../../src/core/audience/audience.service.js';
import { parseCrmMapping } from '../../src/core/audience/crm-schema.js';
import type { CrmSource } from '../../src/core/audience/crm-source.js';
import { toContactInput } from '../../src/core/audience/crm-user.js';
import { filterKey } from '../../src/core/audience/filter-key.js';
import { createSupabaseCrmSource, openCrmSource } from '../../src/core/audience/supabase-crm-source.js';
import { loadConfig } from '../../src/core/config.js';
import { CampaignError } from '../../src/core/errors.js';
import { closedPort } from '../helpers/closed-port.js';
import { AWKWARD_CRM, type CrmUserSeed, createCrmTables, insertCrmUsers, type PostgrestServer, startPostgrestServer } from '../helpers/postgrest-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const KEY = `service-key-${randomBytes(6).toString('hex')}`;
let t: TestDatabase;
let schema: string;
let server: PostgrestServer;
let crm: CrmSource;

beforeAll(async () => {
  t = await createTestDatabase();
  schema = `crm_${randomBytes(4).toString('hex')}`;
  await createCrmTables(t.pool, schema);
  server = await startPostgrestServer({ databaseUrl: t.url, schema, apiKey: KEY });
  crm = await createSupabaseCrmSource({ url: server.url, serviceKey: KEY });
});
afterAll(async () => {
  await server?.close();
  await t?.drop();
});

async function resetCrm(users: CrmUserSeed[]): Promise<void> {
  await t.pool.query(`truncate ${schema}.user_brand_registrations, ${schema}.users`);
  await t.pool.query('delete from contacts');
  await insertCrmUsers(t.pool, schema, users);
  server.setFault(undefined);
}

async function contacts(): Promise<Array<Record<string, any>>> {
  const r = await t.pool.query('select * from contacts order by crm_id::bigint');
  return r.rows;
}

async function count(table: string): Promise<number> {
  return Number((await t.pool.query(`select count(*) from ${table}`)).rows[0].count);
}

async function auditCount(): Promise<number> {
  return Number((await t.pool.query(`select count(*) from admin_activity where action = 'audience.import'`)).rows[0].count);
}

/** A request for a page of users (not a count, a column probe or a spelling lookup). */
const isUsersPage = (info: { table: string; method: string; params: URLSearchParams }) => info.table === 'users' && info.method === 'GET' && (info.params.get('order') ?? '').startsWith('id');

const phone = (i: number) => `+2438${String(12300000 + i)}`;

// One CRM that exercises the brand rule:
//   1 Alice: registered vaseline + pepsodent; own brand lifebuoy (ignored: she has registrations)
//   2 Bob: no registration, own brand vaseline (fallback)
//   3 Carl: registered lifebuoy; own brand vaseline (ignored)
//   4 Dan: banned, registered vaseline
//   5 Eve: banned = null (not banned), no registration, own brand pepsodent
//   6 Fay: no registration, no brand
//   7 Gus: banned, no registration, own brand vaseline
const BRAND_CRM: CrmUserSeed[] = [
  { id: 1, name: 'Alice Mbuyi', phone: '+243 81 234 5678', city: 'Kinshasa', source: 'store', store_id: 'KIN-1', brand: 'lifebuoy', brands: ['vaseline', 'pepsodent'] },
  { id: 2, name: 'Bob Kabila', phone: '0812345679', city: 'Goma', source: 'web', brand: 'vaseline' },
  { id: 3, name: 'Carl', phone: '0812345670', brand: 'vaseline', brands: ['lifebuoy'] },
  { id: 4, name: 'Dan', phone: '0812345671', brand: 'vaseline', banned: true, brands: ['vaseline'] },
  { id: 5, name: 'Eve', phone: '0812345672', brand: 'pepsodent', banned: null },
  { id: 6, name: 'Fay', phone: '0812345673', brand: null },
  { id: 7, name: 'Gus', phone: '0812345674', brand: 'vaseline', banned: true },
];

describe('the brand rule', () => {
  beforeEach(() => resetCrm(BRAND_CRM));

  it('brands: registrations, fallback brand only without registrations, banned excluded', async () => {
    const r = await listBrands(crm);
    expect(r.brands).toEqual([
      { brand: 'lifebuoy', users: 1 },
      { brand: 'pepsodent', users: 2 },
      { brand: 'vaseline', users: 2 },
    ]);
  });

  it('import: the brand matches the same users, registered_brands keeps the full list, banned are counted as skipped', async () => {
    const r = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true });
    expect(r).toMatchObject({ matched: 2, processed: 2, new: 2, updated: 0, unchanged: 0, bannedSkipped: 2, invalidPhone: 0, complete: true });
    const rows = await contacts();
    expect(rows.map((c) => c.crm_id)).toEqual(['1', '2']);
    expect(rows[0]).toMatchObject({ name: 'Alice Mbuyi', first_name: 'Alice', brand: 'lifebuoy', registered_brands: ['pepsodent', 'vaseline'], city: 'Kinshasa', source: 'store', store_id: 'KIN-1', chat_id: '243812345678@c.us', phone_valid: true });
    expect(rows[1]).toMatchObject({ registered_brands: ['vaseline'], first_name: 'Bob' });
    const lifebuoy = await importAudience(t.ctx(), crm, { brand: 'lifebuoy', all: true });
    expect(lifebuoy).toMatchObject({ new: 1, bannedSkipped: 0 });
    expect((await contacts()).find((c) => c.crm_id === '3')!.registered_brands).toEqual(['lifebuoy']);
  });

  it('preview: rows, total, brands, validity and banned excluded; writes nothing', async () => {
    const before = { contacts: await count('contacts'), audit: await count('admin_activity') };
    const p = await previewAudience(t.ctx(), crm, { brand: 'pepsodent' });
    expect(p.total).toBe(2);
    expect(p.bannedExcluded).toBe(0);
    expect(p.rows.map((r) => [r.crmId, r.brands, r.sync])).toEqual([
      ['1', ['pepsodent', 'vaseline'], 'new'],
      ['5', ['pepsodent'], 'new'],
    ]);
    expect(p.rows[0]).toMatchObject({ name: 'Alice Mbuyi', phone: '+243 81 234 5678', chatId: '243812345678@c.us', phoneValid: true, city: 'Kinshasa', source: 'store', crmUpdatedAt: '2026-01-01T10:00:00.000Z' });
    expect({ contacts: await count('contacts'), audit: await count('admin_activity') }).toEqual(before);
    expect(server.requests.every((r) => r.method === 'GET' || r.method === 'HEAD')).toBe(true);
  });

  it('--ids imports only those ids of the brand and names the ones that did not match', async () => {
    const r = await importAudience(t.ctx(), crm, { brand: 'vaseline', ids: ['2', '3', '4', '999'] });
    expect(r).toMatchObject({ new: 1, matched: 1, bannedSkipped: 1, notMatched: ['3', '4', '999'] });
    expect((await contacts()).map((c) => c.crm_id)).toEqual(['2']);
  });

  it('search and city narrow the audience, case-insensitively and literally', async () => {
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', search: 'KABILA' })).rows.map((r) => r.crmId)).toEqual(['2']);
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', search: '5678' })).rows.map((r) => r.crmId)).toEqual(['1']);
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', search: 'a%' })).total).toBe(0);
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', search: 'o, "x" (y)' })).total).toBe(0);
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', city: 'goma' })).rows.map((r) => r.crmId)).toEqual(['2']);
    const r = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true, city: 'GOMA' });
    expect(r).toMatchObject({ new: 1, matched: 1 });
  });
});

describe('phones', () => {
  const valid = ['+243 81 234 5678', '0812345678', '243812345678', '812345678', '00243812345678', '(+243) 812.345.678', '\u0660\u0668\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668'];
  const invalid: Array<[string | null, RegExp]> = [
    ['919876543210', /not a valid number/],
    ['24381234', /./],
    ['0812abc678', /letters/],
    ['tel:+243812345678', /letters/],
    ['+243812345678 ext 12', /extension/],
    ['+243812345678, +243812345679', /several/],
    ['', /no phone/],
    [null, /no phone/],
  ];

  it('valid numbers get a chat id; invalid and ambiguous ones are kept with phone_valid=false and the reason', async () => {
    const users: CrmUserSeed[] = [
      ...valid.map((p, i) => ({ id: 100 + i, name: `Valid ${i}`, phone: p, brand: 'vaseline' })),
      { id: 150, name: 'India', phone: '+919876543210', brand: 'vaseline' },
      ...invalid.map(([p], i) => ({ id: 200 + i, name: `Invalid ${i}`, phone: p, brand: 'vaseline' })),
    ];
    await resetCrm(users);
    const r = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true });
    expect(r).toMatchObject({ new: users.length, invalidPhone: invalid.length });
    const rows = await contacts();
    const validRows = rows.filter((c) => Number(c.crm_id) < 150);
    expect(validRows.map((c) => c.phone_raw).sort()).toEqual([...valid].sort());
    for (const c of validRows) {
      expect(c, c.phone_raw).toMatchObject({ phone_valid: true, chat_id: '243812345678@c.us', phone_invalid_reason: null });
    }
    expect(rows.find((c) => c.crm_id === '150')).toMatchObject({ chat_id: '919876543210@c.us', phone_valid: true });
    invalid.forEach(([p, reason], i) => {
      const c = rows.find((x) => x.crm_id === String(200 + i))!;
      expect(c.phone_valid, String(p)).toBe(false);
      expect(c.chat_id).toBeNull();
      expect(c.phone_invalid_reason).toMatch(reason);
      expect(c.phone_raw).toBe(p);
    });
  });
});

describe('sync state and re-import', () => {
  const users: CrmUserSeed[] = Array.from({ length: 30 }, (_, i) => ({ id: i + 1, name: `User ${i + 1} Test`, phone: phone(i), city: 'Kinshasa', brand: 'vaseline' }));
  beforeEach(() => resetCrm(users));

  it('preview says new, then up_to_date after import, then changed when the CRM row changes', async () => {
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', limit: 5 })).rows.map((r) => r.sync)).toEqual(Array(5).fill('new'));
    await importAudience(t.ctx(), crm, { brand: 'vaseline', ids: ['1', '2', '3'] });
    await t.pool.query(`update ${schema}.users set name = 'Renamed Person', updated_at = now() where id = 2`);
    await t.pool.query(`insert into ${schema}.user_brand_registrations values (3, 'vaseline'), (3, 'pepsodent')`);
    const p = await previewAudience(t.ctx(), crm, { brand: 'vaseline', limit: 5 });
    expect(p.rows.map((r) => [r.crmId, r.sync])).toEqual([['1', 'up_to_date'], ['2', 'changed'], ['3', 'changed'], ['4', 'new'], ['5', 'new']]);
    expect(p.page).toMatchObject({ new: 2, changed: 2, upToDate: 1 });
    expect(p.rows[0]!.contactId).toEqual(expect.any(Number));
    const offset = await previewAudience(t.ctx(), crm, { brand: 'vaseline', limit: 10, offset: 25 });
    expect(offset.rows.map((r) => r.crmId)).toEqual(['26', '27', '28', '29', '30']);
    expect(offset.total).toBe(30);
  });

  it('a second import changes nothing: all unchanged, updated_at untouched; audited once per import', async () => {
    const audits = await auditCount();
    const first = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true, pageSize: 7 });
    expect(first).toMatchObject({ new: 30, updated: 0, unchanged: 0, pages: 5, complete: true });
    const before = await contacts();
    const second = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true, pageSize: 7 });
    expect(second).toMatchObject({ new: 0, updated: 0, unchanged: 30, complete: true });
    const after = await contacts();
    expect(after.map((c) => [c.id, c.updated_at.toISOString(), c.last_imported_at.toISOString(), c.crm_hash])).toEqual(
      before.map((c) => [c.id, c.updated_at.toISOString(), c.last_imported_at.toISOString(), c.crm_hash]),
    );
    expect(await auditCount()).toBe(audits + 2);
    const row = await t.db.selectFrom('admin_activity').selectAll().where('action', '=', 'audience.import').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ actor: 'test', entity_type: 'audience', entity_id: 'vaseline' });
    expect(row.details).toMatchObject({ brand: 'vaseline', filters: { all: true, ids: null, search: null, city: null }, counts: { new: 0, unchanged: 30, bannedSkipped: 0 }, complete: true });
    expect(JSON.stringify(row)).not.toContain(KEY);
  });

  it('a changed CRM row is updated; suppression and opt-out survive the re-import (promise 4)', async () => {
    await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true });
    await t.pool.query(`update contacts set suppressed = true, suppressed_reason = 'complaint', suppressed_at = now(), opted_out = true, opted_out_at = now(), opted_out_source = 'STOP' where crm_id = '4'`);
    await t.pool.query(`update ${schema}.users set name = 'New Name', phone = 'garbage' where id = 4`);
    const r = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true });
    expect(r).toMatchObject({ new: 0, updated: 1, unchanged: 29, invalidPhone: 1 });
    const c = (await contacts()).find((x) => x.crm_id === '4')!;
    expect(c).toMatchObject({ name: 'New Name', first_name: 'New', phone_valid: false, chat_id: null, suppressed: true, suppressed_reason: 'complaint', opted_out: true, opted_out_source: 'STOP' });
    expect(c.updated_at.getTime()).toBeGreaterThanOrEqual(c.first_imported_at.getTime());
  });
});

describe('an interrupted import', () => {
  const users: CrmUserSeed[] = Array.from({ length: 50 }, (_, i) => ({ id: i + 1, name: `Person ${i + 1}`, phone: phone(i), brand: 'vaseline' }));
  beforeEach(() => resetCrm(users));

  it('the CRM fails on page 3 of 5: pages 1-2 stay committed, the error says so, and a re-run completes it', async () => {
    let gets = 0;
    // Every users page from the third on fails until the fault is lifted.
    server.setFault((info) => (isUsersPage(info) && ++gets >= 3 ? { status: 500, body: { code: 'XX000', message: 'boom' } } : undefined));
    const err = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true, pageSize: 10 }).catch((e) => e);
    expect(err).toBeInstanceOf(CampaignError);
    expect(err.code).toBe('CRM_UNAVAILABLE');
    expect(err.message).toMatch(/2 page\(s\) were imported/);
    expect(await count('contacts')).toBe(20);
    server.setFault(undefined);
    const r = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true, pageSize: 10 });
    expect(r).toMatchObject({ new: 30, unchanged: 20, updated: 0, complete: true });
    expect(await count('contacts')).toBe(50);
  });

  it('the connection drops on page 3: CRM_UNAVAILABLE, committed pages consistent, re-run completes', async () => {
    let gets = 0;
    server.setFault((info) => (isUsersPage(info) && ++gets === 3 ? { drop: true } : undefined));
    const err = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true, pageSize: 10 }).catch((e) => e);
    expect(err.code).toBe('CRM_UNAVAILABLE');
    expect(err.message).toContain('SUPABASE_URL');
    expect(await count('contacts')).toBe(20);
    const r = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true, pageSize: 10 });
    expect(r).toMatchObject({ new: 30, unchanged: 20, complete: true });
  });

  it('an abort (Ctrl-C) stops after the page being written; the re-run completes it', async () => {
    const controller = new AbortController();
    const r = await importAudience(t.ctx(), crm, {
      brand: 'vaseline',
      all: true,
      pageSize: 10,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done >= 20) controller.abort();
      },
    });
    expect(r).toMatchObject({ complete: false, pages: 2, new: 20 });
    expect(await count('contacts')).toBe(20);
    const again = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true, pageSize: 10 });
    expect(again).toMatchObject({ complete: true, new: 30, unchanged: 20 });
  });
});

describe('a CRM that caps the rows of a response (PostgREST db-max-rows, Supabase "Max rows")', () => {
  const people = (n: number, from = 1): CrmUserSeed[] => Array.from({ length: n }, (_, i) => ({ id: from + i, name: `Person ${from + i}`, phone: phone(from + i), brand: 'vaseline' }));
  afterEach(() => server.setMaxRows(undefined));

  it('the stand-in answers a capped range like PostgREST: rows cut, 206 with Content-Range 0-499/1234, 200 without a count, 416 past the end', async () => {
    await resetCrm(people(1234));
    server.setMaxRows(500);
    const get = (qs: string, prefer?: string) =>
      fetch(`${server.url}/rest/v1/users?${qs}`, { headers: { apikey: KEY, Authorization: `Bearer ${KEY}`, ...(prefer ? { Prefer: prefer } : {}) } });
    const capped = await get('select=id&order=id.asc&limit=1000', 'count=exact');
    expect(capped.status).toBe(206);
    expect(capped.headers.get('content-range')).toBe('0-499/1234');
    expect(((await capped.json()) as unknown[]).length).toBe(500);
    const noCount = await get('select=id&order=id.asc&limit=1000');
    expect(noCount.status).toBe(200);
    expect(noCount.headers.get('content-range')).toBe('0-499/*');
    const last = await get('select=id&order=id.asc&offset=1000&limit=1000', 'count=exact');
    expect(last.status).toBe(206);
    expect(last.headers.get('content-range')).toBe('1000-1233/1234');
    expect((await get('select=id&offset=1235', 'count=exact')).status).toBe(416);
  });

  it('--all with the default page of 1,000 and a cap of 500 imports all 1,234 users, not 500', async () => {
    await resetCrm(people(1234));
    server.setMaxRows(500);
    const r = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true });
    expect(r).toMatchObject({ matched: 1234, processed: 1234, new: 1234, complete: true });
    expect(await count('contacts')).toBe(1234);
  });

  for (const [cap, pageSize, users] of [[1, 10, 7], [3, 10, 25], [7, 4, 30]] as const) {
    it(`a cap of ${cap} with pages of ${pageSize}: every one of ${users} users, each once, progress reaching the count`, async () => {
      await resetCrm(people(users));
      server.setMaxRows(cap);
      const seen: number[] = [];
      const r = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true, pageSize, onProgress: (p) => seen.push(p.done) });
      expect(r).toMatchObject({ matched: users, processed: users, new: users, complete: true });
      expect((await contacts()).map((c) => Number(c.crm_id))).toEqual(people(users).map((u) => u.id));
      expect(seen.at(-1)).toBe(users);
    });
  }

  it('preview with --limit above the cap still shows --limit rows, from --offset, and the total', async () => {
    await resetCrm(people(40));
    server.setMaxRows(3);
    const p = await previewAudience(t.ctx(), crm, { brand: 'vaseline', limit: 10, offset: 5 });
    expect(p.total).toBe(40);
    expect(p.rows.map((r) => Number(r.crmId))).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const end = await previewAudience(t.ctx(), crm, { brand: 'vaseline', limit: 10, offset: 38 });
    expect(end.rows.map((r) => Number(r.crmId))).toEqual([39, 40]);
    // An offset past the end is PostgREST's 416: no rows, the total still known.
    const past = await previewAudience(t.ctx(), crm, { brand: 'vaseline', limit: 10, offset: 45 });
    expect(past).toMatchObject({ total: 40, rows: [] });
  });

  // Decided: an import covers the CRM as it is when its last page is read. Users added while it
  // runs (new ids sort last) are imported; users removed before their page is read are not. It
  // is complete when what it received equals the count at the start or a second count at the end.
  it('users added and removed in the CRM during the import: complete, covering the CRM at the end', async () => {
    await resetCrm(people(30));
    server.setMaxRows(4);
    let gets = 0;
    server.setFault(async (info) => {
      if (isUsersPage(info) && ++gets === 3) {
        await insertCrmUsers(t.pool, schema, people(5, 100));
        await t.pool.query(`delete from ${schema}.users where id in (25, 26)`);
      }
      return undefined;
    });
    const r = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true, pageSize: 10 });
    expect(r).toMatchObject({ matched: 30, processed: 33, new: 33, complete: true });
    expect((await contacts()).map((c) => Number(c.crm_id))).toEqual([...people(24).map((u) => u.id), 27, 28, 29, 30, 100, 101, 102, 103, 104]);
  });

  it('rows that paging skips (a CRM view whose ids repeat) are CRM_INCOMPLETE, exit 8, with the committed pages consistent and audited', async () => {
    const s = `crm_dup_${randomBytes(3).toString('hex')}`;
    await t.pool.query(`
      create schema ${s};
      create table ${s}.base (id bigint, name text, phone text, brand text);
      insert into ${s}.base select g, 'P' || g, '+24381' || (2300000 + g), 'vaseline' from generate_series(1, 12) g;
      insert into ${s}.base values (4, 'P4 again', '+243812399999', 'vaseline');
      create view ${s}.users as select * from ${s}.base;
    `);
    const s5 = await startPostgrestServer({ databaseUrl: t.url, schema: s, apiKey: KEY, maxRows: 4 });
    try {
      await t.pool.query('delete from contacts');
      const mapping = parseCrmMapping({ users: { columns: { city: null, source: null, store_id: null, banned: null, updated_at: null } }, registrations: null });
      const src = await createSupabaseCrmSource({ url: s5.url, serviceKey: KEY, mapping });
      const audits = await auditCount();
      const err = await importAudience(t.ctx(), src, { brand: 'vaseline', all: true, pageSize: 4 }).catch((e) => e);
      expect(err).toBeInstanceOf(CampaignError);
      expect(err.code).toBe('CRM_INCOMPLETE');
      expect(err.exitCode).toBe(8);
      expect(err.message).toMatch(/returned 12 users of the 13 it counted/);
      expect(err.message).toMatch(/page\(s\) were imported/);
      expect(await count('contacts')).toBe(12);
      expect(await auditCount()).toBe(audits + 1);
    } finally {
      await s5.close();
    }
  });
});

describe('awkward CRM data: first_name, and filters compared on normalised values', () => {
  beforeEach(() => resetCrm(AWKWARD_CRM));
  const byId = async () => new Map((await contacts()).map((c) => [Number(c.crm_id), c]));

  it('the filter key: NFKC, trimmed, inner spaces collapsed, case-insensitive', () => {
    expect(filterKey('  Kinshasa\u00a0')).toBe('kinshasa');
    expect(filterKey('Lubumbashi   Nord')).toBe('lubumbashi nord');
    expect(filterKey('Ｖａｓｅｌｉｎｅ')).toBe('vaseline');
    expect(filterKey('ÉLISABETHVILLE')).toBe(filterKey('élisabethville'));
  });

  it("the CRM's first_name is used; the first word of name only when first_name is null, empty or blank; no name: first + last", async () => {
    await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true });
    const c = await byId();
    expect(c.get(9001)).toMatchObject({ name: 'Jean-Pierre Mbuyi', first_name: 'JP' });
    expect(c.get(9002)).toMatchObject({ name: 'Amani  Kabila', first_name: 'Amani' });
    expect(c.get(9003)).toMatchObject({ name: 'Ngalula Ḿbuyi', first_name: 'Ngalula' });
    expect(c.get(9004)).toMatchObject({ name: 'Zoë Ilunga', first_name: 'Zoë' });
    expect(c.get(9005)).toMatchObject({ name: null, first_name: null });
    expect(c.get(9006)).toMatchObject({ first_name: 'Twin' });
    // Two CRM users with one number are two contacts with the same chat id (opt-out binds to the number).
    expect(c.get(9006)!.chat_id).toBe(c.get(9007)!.chat_id);
  });

  it('first_name through CRM_SCHEMA: a renamed column is used; null says the CRM has none', async () => {
    await t.pool.query(`alter table ${schema}.users add column given text`);
    await t.pool.query(`update ${schema}.users set given = 'Given' where id = 9002`);
    try {
      const renamed = await createSupabaseCrmSource({ url: server.url, serviceKey: KEY, mapping: parseCrmMapping({ users: { columns: { first_name: 'given' } } }) });
      await importAudience(t.ctx(), renamed, { brand: 'vaseline', ids: ['9001', '9002'] });
      expect((await byId()).get(9002)).toMatchObject({ first_name: 'Given' });
      expect((await byId()).get(9001)).toMatchObject({ first_name: 'Jean-Pierre' });
      const none = await createSupabaseCrmSource({ url: server.url, serviceKey: KEY, mapping: parseCrmMapping({ users: { columns: { first_name: null } } }) });
      await importAudience(t.ctx(), none, { brand: 'vaseline', ids: ['9001'] });
      expect((await byId()).get(9001)).toMatchObject({ first_name: 'Jean-Pierre' });
    } finally {
      await t.pool.query(`alter table ${schema}.users drop column given`);
    }
  });

  it('--city matches stray spaces, case and a non-breaking space, never a longer city; count, preview and progress agree', async () => {
    const p = await previewAudience(t.ctx(), crm, { brand: 'vaseline', city: 'kinshasa' });
    expect(p.rows.map((r) => Number(r.crmId))).toEqual([9001, 9002, 9003, 9004]);
    expect(p.total).toBe(4);
    expect(p.bannedExcluded).toBe(1);
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', city: '  KINSHASA ', limit: 2, offset: 2 })).rows.map((r) => Number(r.crmId))).toEqual([9003, 9004]);
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', city: 'Lubumbashi nord' })).rows.map((r) => Number(r.crmId))).toEqual([9006, 9007]);
    const seen: Array<[number, number]> = [];
    const r = await importAudience(t.ctx(), crm, { brand: 'Vaseline', all: true, city: 'Kinshasa', pageSize: 3, onProgress: (x) => seen.push([x.done, x.total]) });
    expect(r).toMatchObject({ matched: 4, processed: 4, new: 4, bannedSkipped: 1, complete: true });
    expect(seen.at(-1)).toEqual([4, 4]);
    expect([...(await byId()).values()].map((c) => c.city)).toEqual(['Kinshasa', 'KINSHASA', 'kinshasa', 'Kinshasa']);
  });

  it("LIKE's own characters in a city are literal: 'st_louis 100%' matches itself, not 'StXLouis 100x'", async () => {
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', city: 'st_louis 100%' })).rows.map((r) => Number(r.crmId))).toEqual([9009]);
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', city: 'nowhere' })).total).toBe(0);
  });

  it('--brand matches every spelling (spaces, case, full-width letters), in registrations and users.brand; brands lists it once', async () => {
    const b = await listBrands(crm);
    expect(b.brands).toEqual([
      { brand: 'Lifebuoy', users: 1 },
      { brand: 'vaseline', users: 11, spellings: [' vaseline', 'VASELINE', 'Vaseline ', 'vaseline', 'ｖａｓｅｌｉｎｅ'].sort() },
    ]);
    const r = await importAudience(t.ctx(), crm, { brand: 'VASELINE ', all: true });
    expect(r).toMatchObject({ matched: 11, new: 11, bannedSkipped: 1 });
    const c = await byId();
    expect(c.get(9001)!.registered_brands).toEqual(['Vaseline']);
    expect(c.get(9003)!.registered_brands).toEqual(['vaseline']);
    expect(c.get(9011)!.registered_brands).toEqual(['vaseline']);
    expect((await previewAudience(t.ctx(), crm, { brand: 'lifebuoy' })).total).toBe(1);
    expect((await previewAudience(t.ctx(), crm, { brand: 'no such brand' })).total).toBe(0);
  });

  it('--search tolerates case and the spaces between words', async () => {
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', search: 'amani kabila' })).rows.map((r) => Number(r.crmId))).toEqual([9002]);
    expect((await previewAudience(t.ctx(), crm, { brand: 'vaseline', search: 'TWIN' })).total).toBe(2);
  });
});

describe('CRM errors write nothing', () => {
  beforeEach(() => resetCrm(BRAND_CRM));

  it('a wrong service key is CRM_REJECTED naming SUPABASE_SERVICE_KEY, without the key', async () => {
    const audits = await count('admin_activity');
    const wrong = await createSupabaseCrmSource({ url: server.url, serviceKey: 'not-the-key-1234' });
    for (const call of [() => importAudience(t.ctx(), wrong, { brand: 'vaseline', all: true }), () => previewAudience(t.ctx(), wrong, { brand: 'vaseline' }), () => listBrands(wrong)]) {
      const err = await call().catch((e) => e);
      expect(err).toBeInstanceOf(CampaignError);
      expect(err.code).toBe('CRM_REJECTED');
      expect(err.exitCode).toBe(8);
      expect(err.message).toContain('SUPABASE_SERVICE_KEY');
      expect(JSON.stringify(err.toJSON())).not.toContain('not-the-key-1234');
    }
    expect(await count('contacts')).toBe(0);
    expect(await count('admin_activity')).toBe(audits);
  });

  it('PostgREST rejecting the JWT (401 PGRST301) and a 403 are CRM_REJECTED too', async () => {
    server.setFault(() => ({ status: 401, body: { code: 'PGRST301', details: null, hint: null, message: 'JWSError JWSInvalidSignature' } }));
    const e401 = await previewAudience(t.ctx(), crm, { brand: 'vaseline' }).catch((e) => e);
    expect(e401.code).toBe('CRM_REJECTED');
    expect(e401.message).toContain('SUPABASE_SERVICE_KEY');
    server.setFault(() => ({ status: 403, body: { code: '42501', message: 'permission denied for table users' } }));
    const e403 = await importAudience(t.ctx(), crm, { brand: 'vaseline', all: true }).catch((e) => e);
    expect(e403.code).toBe('CRM_REJECTED');
    expect(await count('contacts')).toBe(0);
  });

  it('an unreachable CRM (connection refused, unknown host) is CRM_UNAVAILABLE naming SUPABASE_URL', async () => {
    const audits = await count('admin_activity');
    const refused = await createSupabaseCrmSource({ url: `http://127.0.0.1:${await closedPort()}`, serviceKey: KEY });
    const e1 = await importAudience(t.ctx(), refused, { brand: 'vaseline', all: true }).catch((e) => e);
    expect(e1.code).toBe('CRM_UNAVAILABLE');
    expect(e1.message).toContain('SUPABASE_URL');
    expect(e1.message).toContain('ECONNREFUSED');
    const dns = await createSupabaseCrmSource({ url: 'http://crm.nonexistent-host.invalid', serviceKey: KEY });
    const e2 = await listBrands(dns).catch((e) => e);
    expect(e2.code).toBe('CRM_UNAVAILABLE');
    expect(e2.message).toContain('SUPABASE_URL');
    expect(await count('contacts')).toBe(0);
    expect(await count('admin_activity')).toBe(audits);
  });

  it('missing SUPABASE_URL / SUPABASE_SERVICE_KEY is CONFIG_MISSING naming both', async () => {
    const config = loadConfig({ env: { CAMPAIGN_HOME: '/tmp/x' }, cwd: '/' });
    const err = await openCrmSource(config, 'audience import').catch((e) => e);
    expect(err.code).toBe('CONFIG_MISSING');
    expect(err.exitCode).toBe(6);
    expect(err.message).toContain('SUPABASE_URL');
    expect(err.message).toContain('SUPABASE_SERVICE_KEY');
  });

  it('a CRM without the expected tables says to map them in CRM_SCHEMA', async () => {
    const other = await createSupabaseCrmSource({ url: server.url, serviceKey: KEY, mapping: parseCrmMapping('{"users":{"table":"customers"}}') });
    const err = await previewAudience(t.ctx(), other, { brand: 'vaseline' }).catch((e) => e);
    expect(err.code).toBe('CRM_REJECTED');
    expect(err.message).toContain('CRM_SCHEMA');
  });
});

describe('odd CRM values', () => {
  it('never crash: odd phones are invalid with a reason, odd text and dates become null, rows without an id are counted', () => {
    const base = { name: 'X', city: null, source: null, store_id: null, brand: 'vaseline', updated_at: null, registrations: [] };
    const phoneReason = (v: unknown) => {
      const m = toContactInput({ ...base, id: 1, phone: v });
      return m.ok ? [m.contact.phone_valid, m.contact.phone_invalid_reason] : null;
    };
    expect(phoneReason({ a: 1 })).toEqual([false, expect.stringMatching(/object/)]);
    expect(phoneReason(['0812345678'])).toEqual([false, expect.stringMatching(/list/)]);
    expect(phoneReason(true)).toEqual([false, expect.stringMatching(/boolean/)]);
    expect(phoneReason(2.5)).toEqual([false, expect.stringMatching(/number/)]);
    expect(phoneReason(243812345678)).toEqual([true, null]);
    expect(phoneReason('x'.repeat(5000))).toEqual([false, 'too long']);
    expect(phoneReason('\u0000')).toEqual([false, expect.any(String)]);
    const odd = toContactInput({ id: 7, name: { first: 'A' }, phone: '0812345678', city: 42, source: '  ', store_id: '\u0000S1', brand: null, updated_at: 'not a date', registrations: [null, 'vaseline', '', 'vaseline', 5] });
    expect(odd).toMatchObject({ ok: true, contact: { crm_id: '7', name: null, first_name: null, city: '42', source: null, store_id: 'S1', crm_updated_at: null, registered_brands: ['5', 'vaseline'] } });
    expect(toContactInput({ ...base, id: null, phone: '0812345678' })).toMatchObject({ ok: false, reason: 'no usable id' });
    expect(toContactInput({ ...base, id: '\ud800bad', phone: 'x' })).toMatchObject({ ok: true, contact: { crm_id: '\ufffdbad' } });
  });

  it('through the CRM: a jsonb phone column, text ids and dates that are not dates', async () => {
    const odd = `crm_odd_${randomBytes(3).toString('hex')}`;
    await t.pool.query(`
      create schema ${odd};
      create table ${odd}.users (id text primary key, name jsonb, phone jsonb, city text, source text, store_id text, brand text, banned boolean, updated_at text);
      create table ${odd}.user_brand_registrations (user_id text references ${odd}.users(id), brand text);
      insert into ${odd}.users values
        ('a1', '"Ann Lee"', '"0812345678"', null, null, null, 'vaseline', null, '2026-02-01T00:00:00Z'),
        ('a2', '{"x":1}', '{"n":"0812345678"}', null, null, null, 'vaseline', false, 'yesterday'),
        ('a3', '7', '243812345679', null, null, null, 'vaseline', false, null),
        ('a4', 'null', '[1,2]', null, null, null, 'vaseline', false, '99999-01-01'),
        ('', '"Empty id"', '"0812345678"', null, null, null, 'vaseline', false, null);
    `);
    const s2 = await startPostgrestServer({ databaseUrl: t.url, schema: odd, apiKey: KEY });
    try {
      await t.pool.query('delete from contacts');
      const src = await createSupabaseCrmSource({ url: s2.url, serviceKey: KEY });
      const r = await importAudience(t.ctx(), src, { brand: 'vaseline', all: true });
      expect(r).toMatchObject({ processed: 4, new: 4, invalidPhone: 2, unusable: 1, complete: true });
      const rows = Object.fromEntries((await t.pool.query('select * from contacts')).rows.map((c) => [c.crm_id, c]));
      expect(rows.a1).toMatchObject({ name: 'Ann Lee', phone_valid: true, crm_updated_at: new Date('2026-02-01T00:00:00Z') });
      expect(rows.a2).toMatchObject({ name: null, phone_valid: false, phone_invalid_reason: expect.stringMatching(/object/), crm_updated_at: null });
      expect(rows.a3).toMatchObject({ name: '7', phone_valid: true, chat_id: '243812345679@c.us' });
      expect(rows.a4).toMatchObject({ phone_valid: false, phone_invalid_reason: expect.stringMatching(/list/), crm_updated_at: null });
      const again = await importAudience(t.ctx(), src, { brand: 'vaseline', all: true });
      expect(again).toMatchObject({ unchanged: 4, new: 0, updated: 0 });
    } finally {
      await s2.close();
    }
  });
});

describe('a CRM with other names (CRM_SCHEMA)', () => {
  const mappingJson = JSON.stringify({
    users: { table: 'customers', columns: { id: 'cust_id', name: 'full_name', phone: 'mobile', city: 'town', source: 'origin', store_id: 'shop', brand: 'label', banned: 'is_banned', updated_at: 'modified' } },
    registrations: { table: 'brand_signups', hint: 'customer_id', columns: { user_id: 'customer_id', brand: 'signup_brand' } },
  });

  it('imports through the mapping, with the same brand rule', async () => {
    const s = `crm_ren_${randomBytes(3).toString('hex')}`;
    await t.pool.query(`
      create schema ${s};
      create table ${s}.customers (cust_id integer primary key, full_name text, mobile text, town text, origin text, shop text, label text, is_banned boolean not null default false, modified timestamptz);
      create table ${s}.brand_signups (customer_id integer references ${s}.customers(cust_id), signup_brand text);
      insert into ${s}.customers values
        (10, 'Zoe Ilunga', '0812345678', 'Lubumbashi', 'app', 'LUB-2', 'lifebuoy', false, '2026-03-01T00:00:00Z'),
        (11, 'Yan', '+919876543210', null, null, null, 'vaseline', false, null),
        (12, 'Xi', '0812345670', null, null, null, 'vaseline', true, null);
      insert into ${s}.brand_signups values (10, 'vaseline'), (10, 'pepsodent');
    `);
    const s3 = await startPostgrestServer({ databaseUrl: t.url, schema: s, apiKey: KEY });
    try {
      await t.pool.query('delete from contacts');
      const config = loadConfig({ env: { SUPABASE_URL: s3.url, SUPABASE_SERVICE_KEY: KEY, CRM_SCHEMA: mappingJson, CAMPAIGN_HOME: '/tmp/x' }, cwd: '/' });
      const src = await openCrmSource(config, 'audience import');
      expect((await listBrands(src)).brands).toEqual([
        { brand: 'pepsodent', users: 1 },
        { brand: 'vaseline', users: 2 },
      ]);
      const r = await importAudience(t.ctx(), src, { brand: 'vaseline', all: true, city: 'lubumbashi' });
      expect(r).toMatchObject({ new: 1, bannedSkipped: 0 });
      const all = await importAudience(t.ctx(), src, { brand: 'vaseline', all: true });
      expect(all).toMatchObject({ new: 1, unchanged: 1, bannedSkipped: 1 });
      const rows = await contacts();
      expect(rows[0]).toMatchObject({ crm_id: '10', name: 'Zoe Ilunga', city: 'Lubumbashi', source: 'app', store_id: 'LUB-2', brand: 'lifebuoy', registered_brands: ['pepsodent', 'vaseline'], chat_id: '243812345678@c.us', crm_updated_at: new Date('2026-03-01T00:00:00Z') });
      expect(rows[1]).toMatchObject({ crm_id: '11', registered_brands: ['vaseline'], chat_id: '919876543210@c.us' });
      const preview = await previewAudience(t.ctx(), src, { brand: 'vaseline' });
      expect(preview.rows.map((r) => r.sync)).toEqual(['up_to_date', 'up_to_date']);
    } finally {
      await s3.close();
    }
  });

  it('a mistake in CRM_SCHEMA is CONFIG_INVALID naming the key', () => {
    const err = (json: string) => {
      try {
        parseCrmMapping(json);
      } catch (e) {
        return e as CampaignError;
      }
      throw new Error('expected an error');
    };
    expect(err('{"users":{"columns":{"phon":"mobile"}}}').message).toContain('CRM_SCHEMA.users.columns.phon');
    expect(err('{"users":{"columns":{"phone":"mobile number"}}}').message).toContain('CRM_SCHEMA.users.columns.phone');
    expect(err('{"users":{"columns":{"phone":null}}}').message).toContain('CRM_SCHEMA.users.columns.phone');
    expect(err('{"registrations":null,"users":{"columns":{"brand":null}}}').message).toContain('users.columns.brand');
    expect(err('{"users":{"columns":{"city":"name"}}}').message).toContain('users.columns.name');
    expect(err('{nope').code).toBe('CONFIG_INVALID');
    expect(err('{nope').message).toContain('CRM_SCHEMA');
  });

  it('a CRM without registrations or optional columns works from users.brand alone', async () => {
    const s = `crm_min_${randomBytes(3).toString('hex')}`;
    await t.pool.query(`
      create schema ${s};
      create table ${s}.people (pid bigint primary key, nm text, tel text, br text);
      insert into ${s}.people values (1, 'Solo', '0812345678', 'vaseline'), (2, 'Other', '0812345679', 'lifebuoy');
    `);
    const s4 = await startPostgrestServer({ databaseUrl: t.url, schema: s, apiKey: KEY });
    try {
      await t.pool.query('delete from contacts');
      const mapping = parseCrmMapping({
        users: { table: 'people', columns: { id: 'pid', name: 'nm', phone: 'tel', brand: 'br', city: null, source: null, store_id: null, banned: null, updated_at: null } },
        registrations: null,
      });
      const src = await createSupabaseCrmSource({ url: s4.url, serviceKey: KEY, mapping });
      expect((await listBrands(src)).brands).toEqual([{ brand: 'lifebuoy', users: 1 }, { brand: 'vaseline', users: 1 }]);
      expect(await importAudience(t.ctx(), src, { brand: 'vaseline', all: true })).toMatchObject({ new: 1, bannedSkipped: 0 });
      const err = await previewAudience(t.ctx(), src, { brand: 'vaseline', city: 'x' }).catch((e) => e);
      expect(err.code).toBe('USAGE');
    } finally {
      await s4.close();
    }
  });
});

describe('the PostgREST stand-in refuses what it does not understand', () => {
  it('unknown query forms are 400, writes are 405', async () => {
    const get = (qs: string, init: RequestInit = {}) =>
      fetch(`${server.url}/rest/v1/users?${qs}`, { ...init, headers: { apikey: KEY, Authorization: `Bearer ${KEY}`, ...(init.headers ?? {}) } });
    expect((await get('select=id&id=fts.x')).status).toBe(400);
    expect((await get('select=id->x')).status).toBe(400);
    expect((await get('select=id&nope=eq.1')).status).toBe(400);
    expect((await get('select=id&order=id.sideways')).status).toBe(400);
    expect((await get('select=id', { headers: { Prefer: 'count=planned' } })).status).toBe(400);
    expect((await get('select=id', { method: 'POST', body: '{}' })).status).toBe(405);
    const ok = await get('select=id&id=in.(1,2)&order=id.desc', { headers: { Prefer: 'count=exact' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-range')).toMatch(/^(\*|0-\d+)\/\d+$/);
    const noKey = await fetch(`${server.url}/rest/v1/users?select=id`);
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ message: 'Invalid API key' });
    expect(await sql`select 1 as one`.execute(t.db)).toBeTruthy();
  });
});
