// Benchmark: `audience import` of 100,000 CRM users (or `options.users`) through supabase-js against the
// PostgREST-compatible test server (run in its own process, so its memory is not counted) into
// contacts, compared with the floor: a plain INSERT … SELECT of the same rows in the same
// database, measured in the same run. Creates and drops its own database; uses TEST_DATABASE_URL
// or DATABASE_URL when set, else starts the embedded server in a temporary CAMPAIGN_HOME.
// Prints nothing and never fails on time: it returns figures for the bench runner.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type pg from 'pg';
import { importAudience, previewAudience } from '../src/core/audience/audience.service.js';
import { createSupabaseCrmSource } from '../src/core/audience/supabase-crm-source.js';
import type { BenchContext, Figure } from './measure.js';
import { withScratchDatabase } from './scratch-db.js';

/** The figure is for 100,000 users; `options.users` (or BENCH_IMPORT_USERS) picks another size. */
const DEFAULT_USERS = 100_000;
const ROOT = resolve(import.meta.dirname, '..');
const SERVER_ENTRY = join(ROOT, 'tests', 'helpers', 'postgrest-server.ts');

/** `users` matching users (60% registered, some with two brands; 40% by the fallback brand), 5% odd phones, plus banned ones. */
async function seedCrm(pool: pg.Pool, users: number): Promise<void> {
  const banned = Math.max(1, Math.round(users / 100));
  await pool.query(`
    create schema crm;
    create table crm.users (
      id bigint primary key, name text, phone text, city text, source text, store_id text, brand text,
      banned boolean default false, updated_at timestamptz not null default now()
    );
    create table crm.user_brand_registrations (user_id bigint not null references crm.users(id), brand text not null);
    insert into crm.users
      select i,
             'Person ' || i || ' Surname',
             case when i % 20 = 0 then 'call ' || i when i % 3 = 0 then '+243 81 ' || lpad((i % 10000000)::text, 7, '0') else '08' || (10000000 + i)::text end,
             (array['Kinshasa','Goma','Lubumbashi','Bukavu'])[1 + i % 4],
             (array['store','web','app'])[1 + i % 3],
             'ST-' || (i % 500),
             'vaseline',
             i > ${users},
             '2026-01-01T00:00:00Z'::timestamptz + (i || ' seconds')::interval
      from generate_series(1, ${users + banned}) i;
    insert into crm.user_brand_registrations select i, 'vaseline' from generate_series(1, ${users + banned}) i where i % 5 < 3;
    insert into crm.user_brand_registrations select i, 'pepsodent' from generate_series(1, ${users + banned}) i where i % 5 = 0;
    create index on crm.user_brand_registrations (user_id);
    analyze crm.users; analyze crm.user_brand_registrations;
  `);
}

function startServerProcess(databaseUrl: string, apiKey: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = fork(SERVER_ENTRY, [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PGRST_DB_URL: databaseUrl, PGRST_SCHEMA: 'crm', PGRST_KEY: apiKey },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolvePromise({ child, url: (m as { url: string }).url }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the PostgREST stand-in exited with ${code}`)));
  });
}

/** Peak RSS growth over `fn`, sampled every 20 ms. */
async function measure<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number; peakMb: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  try {
    const result = await fn();
    const seconds = (performance.now() - t0) / 1000;
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, seconds, peakMb: (peak - base) / 1024 / 1024 };
  } finally {
    clearInterval(timer);
  }
}

const round = (x: number, digits = 0) => Number(x.toFixed(digits));

export interface BenchImportOptions {
  users?: number;
}

export async function benchImport(ctx?: BenchContext, options: BenchImportOptions = {}): Promise<Figure[]> {
  const users = options.users ?? (Number(process.env.BENCH_IMPORT_USERS) || DEFAULT_USERS);
  const progress = (m: string) => ctx?.progress(m);
  const label = users.toLocaleString('en-US');
  return withScratchDatabase(
    'import',
    async (handle) => {
      let server: ChildProcess | undefined;
      try {
        progress(`seeding ${label} CRM users`);
        await seedCrm(handle.pool, users);
        progress('baseline: INSERT … SELECT');

        // The floor: the same rows (brands aggregated, first name split) straight from SQL.
        const baseline = await measure(() =>
          handle.pool.query(`
            insert into contacts (crm_id, name, first_name, phone_raw, chat_id, phone_valid, phone_invalid_reason, city, source, store_id,
                                  brand, registered_brands, crm_updated_at, crm_hash)
            select u.id::text, u.name, split_part(u.name, ' ', 1), u.phone, null, false, 'not parsed', u.city, u.source, u.store_id, u.brand,
                   coalesce(nullif(array(select r.brand from crm.user_brand_registrations r where r.user_id = u.id order by r.brand), '{}'), array[u.brand]),
                   u.updated_at, md5(u.id::text || u.name || u.phone)
            from crm.users u where u.banned is not true`),
        );
        const baselineRate = users / baseline.seconds;
        await handle.pool.query('truncate contacts cascade');

        const apiKey = `bench-${randomBytes(8).toString('hex')}`;
        const started = await startServerProcess(handle.url, apiKey);
        server = started.child;
        const source = await createSupabaseCrmSource({ url: started.url, serviceKey: apiKey });
        const ctx = handle.ctx();
        // Warm-up outside the measurement: supabase-js, phone metadata, connections.
        await previewAudience(ctx, source, { brand: 'vaseline', limit: 10 });

        progress(`importing ${label} users through supabase-js`);
        const first = await measure(() => importAudience(ctx, source, { brand: 'vaseline', all: true }));
        progress('re-importing (all unchanged)');
        const again = await measure(() => importAudience(ctx, source, { brand: 'vaseline', all: true }));
        const rate = first.result.processed / first.seconds;
        const rerunRate = again.result.processed / again.seconds;
        return [
          {
            name: `audience import: ${label} CRM users via supabase-js into contacts`,
            value: round(rate),
            unit: 'rows/s',
            baseline: { name: 'plain INSERT … SELECT of the same rows', value: round(baselineRate) },
            ratio: round(rate / baselineRate, 3),
            note: `${first.seconds.toFixed(2)} s for ${first.result.processed.toLocaleString('en-US')} rows in ${first.result.pages} pages (${first.result.new} new, ${first.result.invalidPhone} invalid phone, ${first.result.bannedSkipped} banned skipped); baseline ${baseline.seconds.toFixed(2)} s; aim 20,000+ rows/s`,
          },
          {
            name: 'audience import: peak RSS growth',
            value: round(first.peakMb, 1),
            unit: 'MB',
            note: 'importer process only (the PostgREST stand-in runs in its own process); aim flat, < 150 MB',
          },
          {
            name: `audience re-import: ${label} unchanged rows`,
            value: round(rerunRate),
            unit: 'rows/s',
            baseline: { name: 'plain INSERT … SELECT of the same rows', value: round(baselineRate) },
            ratio: round(rerunRate / baselineRate, 3),
            note: `${again.seconds.toFixed(2)} s, ${again.result.unchanged} unchanged, peak RSS growth ${again.peakMb.toFixed(1)} MB`,
          },
        ];
      } finally {
        server?.kill('SIGTERM');
      }
    },
    { poolSize: 4, realClock: false },
  );
}
