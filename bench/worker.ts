// The claim-and-send path with pacing off, against the sandbox over real HTTP: sends per second and
// database queries per send, with 1 and 4 workers, against a plain `FOR UPDATE SKIP LOCKED` claim
// loop that posts the same rows to the same sandbox, measured in the same run. The difference is
// the price of the promises: the session lock, the limit counts, the re-checks and the events.
import pg from 'pg';
import { approveCampaign, createCampaign } from '../src/core/campaigns/campaign.service.js';
import { startCampaign } from '../src/core/campaigns/campaign-control.js';
import { buildQueue } from '../src/core/queue/build-queue.js';
import { updateSettings } from '../src/core/settings/settings.service.js';
import { createWahaClient } from '../src/core/waha/index.js';
import { runWorker } from '../src/core/worker/run-worker.js';
import { startSandbox } from '../src/sandbox/index.js';
import { figure, type BenchContext, type Figure } from './measure.js';
import { type ScratchDb, seedContacts, withScratchDatabase } from './scratch-db.js';

const PACING_OFF = {
  daily_limit: 1_000_000, hourly_limit: 1_000_000, delay_min_seconds: 0, delay_max_seconds: 0, pause_after_sends: 1_000_000,
  pause_min_minutes: 0, pause_max_minutes: 0, sending_window_start: '00:00', sending_window_end: '23:59', sending_days: [1, 2, 3, 4, 5, 6, 7], timezone: 'UTC',
};

// Counts every query any pg client of this process sends (kysely goes through pg.Client.query).
let queries = 0;
const original = pg.Client.prototype.query;
function countQueries(on: boolean): void {
  (pg.Client.prototype as any).query = on
    ? function (this: pg.Client, ...args: any[]) {
        queries++;
        return (original as any).apply(this, args);
      }
    : original;
}

async function campaignWithRows(db: ScratchDb, name: string, rows: number, offset: number): Promise<number> {
  const brand = `b${offset}`;
  await seedContacts(db, rows, brand, offset * rows);
  const c = (await createCampaign(db.ctx(), { name, brand, template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } })).campaign;
  await approveCampaign(db.ctx(), String(c.id));
  await buildQueue(db.ctx(), String(c.id));
  return c.id;
}

async function realWorkers(db: ScratchDb, url: string, workers: number, rows: number, tag: string): Promise<{ perSecond: number; perSend: number }> {
  const id = await campaignWithRows(db, `bench ${tag}`, rows, Number(tag.replace(/\D/g, '')) || 1);
  await startCampaign(db.ctx(), String(id));
  const waha = createWahaClient({ baseUrl: url, timeoutMs: 10_000 });
  queries = 0;
  countQueries(true);
  const t = performance.now();
  const stop = new AbortController();
  const results = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      runWorker(db.ctx(), { waha, resolveMedia: async (p) => p }, { name: `bench-${tag}-${i}`, version: 'bench', once: true, stop: stop.signal, heartbeatMs: 60_000, maintenanceMs: 600_000 }),
    ),
  );
  const seconds = (performance.now() - t) / 1000;
  countQueries(false);
  const sent = results.reduce((a, r) => a + r.sent, 0);
  if (sent !== rows) throw new Error(`${tag}: expected ${rows} sent, got ${sent}`);
  return { perSecond: sent / seconds, perSend: queries / sent };
}

async function plainLoop(db: ScratchDb, url: string, workers: number, rows: number, tag: string): Promise<{ perSecond: number; perSend: number }> {
  const id = await campaignWithRows(db, `plain ${tag}`, rows, 100 + (Number(tag.replace(/\D/g, '')) || 1));
  const waha = createWahaClient({ baseUrl: url, timeoutMs: 10_000 });
  queries = 0;
  countQueries(true);
  const t = performance.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (;;) {
        const r = await db.pool.query(
          `update send_queue set status = 'SENDING' where id = (
             select id from send_queue where campaign_id = $1 and status = 'PENDING' order by id for update skip locked limit 1)
           returning id, endpoint, rendered_payload`,
          [id],
        );
        const row = r.rows[0];
        if (!row) return;
        const outcome = await waha.send(row.endpoint, row.rendered_payload);
        await db.pool.query(`update send_queue set status = $2 where id = $1`, [row.id, outcome.kind === 'accepted' ? 'SENT_API_ACCEPTED' : 'FAILED']);
        sent++;
      }
    }),
  );
  const seconds = (performance.now() - t) / 1000;
  countQueries(false);
  return { perSecond: sent / seconds, perSend: queries / sent };
}

export async function benchWorker(ctx?: BenchContext, options: { rows?: number } = {}): Promise<Figure[]> {
  const rows = options.rows ?? Number(process.env.BENCH_WORKER_ROWS ?? 1000);
  return withScratchDatabase('worker', async (db) => {
    await updateSettings(db.ctx(), PACING_OFF);
    const sandbox = await startSandbox({ port: 0, sessions: ['default'], engine: 'NOWEB', seed: 1 });
    try {
      const out: Figure[] = [];
      for (const workers of [1, 4]) {
        ctx?.progress(`plain SKIP LOCKED loop, ${workers} worker(s), ${rows} rows`);
        const plain = await plainLoop(db, sandbox.url, workers, rows, `p${workers}`);
        ctx?.progress(`campaign worker, ${workers} worker(s), ${rows} rows`);
        const real = await realWorkers(db, sandbox.url, workers, rows, `w${workers}`);
        out.push(figure(`${workers} worker${workers > 1 ? 's' : ''}: sends`, real.perSecond, 'sends/s', { name: 'plain SKIP LOCKED loop', value: plain.perSecond }, 'pacing off, sandbox over HTTP'));
        out.push(figure(`${workers} worker${workers > 1 ? 's' : ''}: queries per send`, real.perSend, 'queries', { name: 'plain SKIP LOCKED loop', value: plain.perSend }));
      }
      return out;
    } finally {
      await sandbox.close();
    }
  }, { poolSize: 12 });
}
