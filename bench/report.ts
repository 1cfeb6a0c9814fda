// Report export of 1,000,000 recipients: `campaign report --out` (writeReportFile: keyset pages
// of 5000 in one REPEATABLE READ snapshot, CSV with formula-safe cells) against `psql \copy` of
// the same query to a file (the floor: the server's own CSV writer, no client-side work), and the
// exporter's peak memory, which must not grow with the number of rows.
//
// The export runs in a child process (this file with --child) so its peak RSS is its own and
// not the bench runner's; the child reports process.resourceUsage().maxRSS and its RSS before
// the export began. Rows are made set-based with generate_series in a scratch database that is
// dropped at the end, whatever happened.
//
// Run by bench/run.ts ("report export"), or alone: `node --import tsx bench/report.ts [--rows N]`.
// The server is bench/scratch-db.ts's: BENCH_DATABASE_URL, TEST_DATABASE_URL or DATABASE_URL, else embedded.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../src/core/db/schema.js';
import { type BenchContext, BenchSkipped, type Figure, figure, median, timeProcess } from './measure.js';
import { withScratchDatabase } from './scratch-db.js';

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_ROWS = 1_000_000;
const HEAP_CAP_MB = 64;

interface ChildResult {
  ms: number;
  rows: number;
  rssBeforeMb: number;
  maxRssMb: number;
  peakHeapMb: number;
}

/** Fills a migrated scratch database (on one connection): one campaign, `rows` contacts and as many queue rows in mixed states. */
export async function seed(db: Kysely<Database>, rows: number): Promise<number> {
  await sql`set synchronous_commit = off`.execute(db);
  const c = await db
    .insertInto('campaigns')
    .values({
      name: 'bench report',
      waha_session: 'default',
      brand: 'vaseline',
      status: 'COMPLETED',
      template_mode: 'simple',
      template_json: JSON.stringify({ type: 'text', text: 'Bonjour {{first_name}}' }),
      message_type: 'text',
      content_hash: 'bench',
      approved_content_hash: 'bench',
      approved_at: new Date(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await sql`
    insert into contacts (crm_id, name, first_name, phone_raw, chat_id, phone_valid, registered_brands)
    select 'crm-' || g, 'Contact ' || g, 'Contact', '+243' || (810000000 + g), (243810000000 + g) || '@c.us', true, '{vaseline}'
    from generate_series(1, ${rows}::int) g
  `.execute(db);
  // Mixed states and timestamps so every column has something to format; every 50th name
  // starts with "=" so the formula guard does real work.
  await sql`
    insert into send_queue (campaign_id, contact_id, chat_id, status, message_type, endpoint, rendered_payload, attempts,
                            claimed_at, sent_at, delivered_at, read_at, failed_at, waha_message_id, last_error)
    select ${c.id}::bigint, ct.id, ct.chat_id,
      (array['READ','DELIVERED','SENT_API_ACCEPTED','FAILED','PENDING'])[1 + ct.id % 5],
      'text', '/api/sendText',
      jsonb_build_object('session', 'default', 'chatId', ct.chat_id,
        'text', case when ct.id % 50 = 0 then '=cmd|calc' else 'Bonjour ' || ct.first_name || E',\nvotre offre Vaseline vous attend en magasin cette semaine. Montrez ce message.' end),
      1 + ct.id % 3,
      now() - interval '2 days', now() - interval '2 days' + interval '1 minute',
      case when ct.id % 5 in (0, 1) then now() - interval '1 day' end,
      case when ct.id % 5 = 1 then now() - interval '20 hours' end,
      case when ct.id % 5 = 3 then now() - interval '2 days' end,
      case when ct.id % 5 <> 3 and ct.id % 5 <> 4 then 'true_' || ct.chat_id || '_3EB0' || upper(to_hex(ct.id)) end,
      case when ct.id % 5 = 3 then '400 Bad Request: chatId is not valid' end
    from contacts ct
    order by ct.id
  `.execute(db);
  await sql`update contacts set name = '=Contact ' || id where id % 50 = 0`.execute(db);
  await sql`vacuum analyze contacts, send_queue`.execute(db);
  return c.id;
}

/** The report's own query without paging, as one statement for `psql \copy`. */
export async function copyQuery(campaignId: number): Promise<string> {
  const { PAYLOAD_SUMMARY_SQL } = await import('../src/core/reports/report.repository.js');
  return `select q.id, c.name, q.chat_id, q.message_type,
      case when q.used_fallback and q.fallback_endpoint is not null then q.fallback_endpoint else q.endpoint end as endpoint,
      q.used_fallback, q.status, q.attempts, q.waha_message_id, coalesce(q.last_error, q.skip_reason) as error,
      q.claimed_at, q.sent_at, q.delivered_at, q.read_at, q.failed_at, ${PAYLOAD_SUMMARY_SQL} as payload_summary
    from send_queue q left join contacts c on c.id = q.contact_id
    where q.campaign_id = ${campaignId} order by q.id`.replace(/\s+/g, ' ');
}

async function runChild(url: string, campaignId: number, out: string, format: 'csv' | 'json', nodeArgs: string[] = []): Promise<ChildResult> {
  const r = await timeProcess(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, 'bench', 'report.ts'), '--child', url, String(campaignId), out, format], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    timeoutMs: 600_000,
  });
  if (r.code !== 0) throw new Error(`report export child exited with ${r.code}: ${r.stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

export async function benchReport(ctx: BenchContext, options: { rows?: number } = {}): Promise<Figure[]> {
  const rows = options.rows ?? DEFAULT_ROWS;
  const psqlVersion = await timeProcess('psql', ['--version']).catch(() => undefined);
  if (!psqlVersion || psqlVersion.code !== 0) throw new BenchSkipped('psql is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'campaign-bench-report-'));
  const runs = Math.max(1, Math.min(ctx.runs, 3));
  // One connection, so the seed's `set synchronous_commit = off` holds for all of it.
  return withScratchDatabase('report', async ({ db, url }) => {
    ctx.progress(`seeding ${rows.toLocaleString('en-US')} queue rows (generate_series)`);
    const seedStarted = performance.now();
    const campaignId = await seed(db, rows);
    ctx.progress(`seeded in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

    const query = await copyQuery(campaignId);
    const psqlOut = join(dir, 'psql.csv');
    const psqlMs: number[] = [];
    const csv: ChildResult[] = [];
    const json: ChildResult[] = [];
    // Warm the cache once so the first timed run does not pay for reading the table from disk.
    await timeProcess('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (${query}) to '${psqlOut}' with (format csv, header)`]);
    for (let i = 0; i < runs; i++) {
      ctx.progress(`run ${i + 1}/${runs}: psql \\copy`);
      const p = await timeProcess('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (${query}) to '${psqlOut}' with (format csv, header)`], { timeoutMs: 600_000 });
      if (p.code !== 0) throw new Error(`psql \\copy failed: ${p.stderr.trim()}`);
      psqlMs.push(p.ms);
      ctx.progress(`run ${i + 1}/${runs}: campaign report --format csv --out`);
      csv.push(await runChild(url, campaignId, join(dir, 'report.csv'), 'csv'));
      ctx.progress(`run ${i + 1}/${runs}: campaign report --format json --out`);
      json.push(await runChild(url, campaignId, join(dir, 'report.json'), 'json'));
    }
    // Constant memory, shown rather than claimed: the same export with V8's old space capped far
    // below the size of the output (a growing export would die with "heap out of memory").
    ctx.progress(`campaign report --format csv --out with --max-old-space-size=${HEAP_CAP_MB}`);
    const capped = await runChild(url, campaignId, join(dir, 'capped.csv'), 'csv', [`--max-old-space-size=${HEAP_CAP_MB}`]);
    if (csv[0]!.rows !== rows) throw new Error(`the export wrote ${csv[0]!.rows} rows, expected ${rows}`);

    const psqlMedian = median(psqlMs);
    const copy = { name: 'psql \\copy (median)', value: psqlMedian };
    const note = `${rows.toLocaleString('en-US')} rows, median of ${runs}`;
    const mb = (path: string) => statSync(path).size / (1024 * 1024);
    return [
      figure('psql \\copy to file', psqlMedian, 'ms', undefined, `${note}; ${mb(psqlOut).toFixed(0)} MB`),
      figure('report export csv to file', median(csv.map((c) => c.ms)), 'ms', copy, `${note}; ${mb(join(dir, 'report.csv')).toFixed(0)} MB`),
      figure('report export json to file', median(json.map((c) => c.ms)), 'ms', copy, `${note}; ${mb(join(dir, 'report.json')).toFixed(0)} MB`),
      figure('  rows per second (csv)', rows / (median(csv.map((c) => c.ms)) / 1000), 'rows/s'),
      figure(
        'report export csv: peak RSS',
        Math.max(...csv.map((c) => c.maxRssMb)),
        'MB',
        { name: 'RSS before the export', value: median(csv.map((c) => c.rssBeforeMb)) },
        'resourceUsage().maxRSS of the exporting process',
      ),
      figure('report export json: peak RSS', Math.max(...json.map((c) => c.maxRssMb)), 'MB', { name: 'RSS before the export', value: median(json.map((c) => c.rssBeforeMb)) }),
      figure(
        `report export csv, heap capped at ${HEAP_CAP_MB} MB`,
        capped.ms,
        'ms',
        { name: 'report export csv (median)', value: median(csv.map((c) => c.ms)) },
        `completed ${capped.rows.toLocaleString('en-US')} rows; peak RSS ${capped.maxRssMb.toFixed(0)} MB; peak heap ${capped.peakHeapMb.toFixed(0)} MB`,
      ),
      figure('report export csv: peak heap used', Math.max(...csv.map((c) => c.peakHeapMb)), 'MB', undefined, 'sampled every 20 ms'),
    ];
  }, { poolSize: 1 }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** The exporting process: writeReportFile as `campaign report --out` runs it, measured from inside. */
async function child(url: string, campaignId: number, out: string, format: 'csv' | 'json'): Promise<void> {
  const { createDb } = await import('../src/core/db/create-db.js');
  const { loadConfig } = await import('../src/core/config.js');
  const { systemClock } = await import('../src/core/clock.js');
  const { silentLog } = await import('../src/core/log.js');
  const { writeReportFile } = await import('../src/core/reports/write-report-file.js');
  const h = createDb(url, { max: 2 });
  const config = loadConfig({ env: { DATABASE_URL: url, CAMPAIGN_HOME: tmpdir() }, cwd: tmpdir() });
  // One query first, so the connection and kysely are warm and counted in the "before" figure.
  await sql`select 1`.execute(h.db);
  const rssBefore = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 20);
  const started = performance.now();
  const r = await writeReportFile({ db: h.db, clock: systemClock, log: silentLog, actor: 'bench', config }, { campaignId }, { format, path: out });
  const ms = performance.now() - started;
  clearInterval(sampler);
  await h.db.destroy();
  const mb = (b: number) => b / (1024 * 1024);
  const result: ChildResult = { ms, rows: r.rows, rssBeforeMb: mb(rssBefore), maxRssMb: process.resourceUsage().maxRSS / 1024, peakHeapMb: mb(peakHeap) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await child(args[1]!, Number(args[2]), args[3]!, args[4] as 'csv' | 'json');
  } else {
    const i = args.indexOf('--rows');
    const rows = i >= 0 ? Number(args[i + 1]) : undefined;
    const figures = await benchReport({ runs: 3, progress: (m) => process.stderr.write(`  ${m}\n`) }, { rows });
    console.log(JSON.stringify(figures, null, 2));
  }
}
