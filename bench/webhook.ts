// Webhook ingestion over real HTTP: `POST /api/webhooks/waha` of `campaign serve` (HMAC verified,
// stored once, acted on) under N concurrent keep-alive connections, each request a unique
// `message.ack` envelope for a message no row carries (the common case: acks for other sends,
// and acks that beat the send result). The baseline, in the same run, on the same database and
// pool: a bare Fastify route doing one `INSERT … ON CONFLICT DO NOTHING`. Aim (issue 5): 70% of
// the baseline's requests per second or better. Also checked: stored rows = 2xx answers.
//
// No load generator is installed (autocannon is not a dependency): the loop below keeps N
// requests in flight with node's fetch (undici, keep-alive) for a fixed time, in this process.
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { sql } from 'kysely';
import { signWahaBody } from '../src/core/webhooks/index.js';
import { buildServer } from '../src/server/build-server.js';
import { type BenchContext, figure, type Figure, percentile } from './measure.js';
import { withScratchDatabase } from './scratch-db.js';

const KEY = 'bench-hmac-key';
const CONNECTIONS = Number(process.env.BENCH_WEBHOOK_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_WEBHOOK_SECONDS ?? 10);

function ackBody(): string {
  const raw = `3EB0${randomBytes(10).toString('hex').toUpperCase()}`;
  return JSON.stringify({
    id: `evt_${randomBytes(13).toString('hex')}`,
    timestamp: Date.now(),
    event: 'message.ack',
    session: 'default',
    me: { id: '243800000000@c.us', pushName: 'Shop' },
    payload: { id: `true_243812345678@c.us_${raw}`, from: '243812345678@c.us', to: null, participant: null, fromMe: true, ack: 2, ackName: 'DEVICE' },
    engine: 'GOWS',
    environment: { version: '2026.7.1', engine: 'GOWS', tier: 'CORE' },
  });
}

interface LoadResult {
  ok: number;
  failed: number;
  rps: number;
  p50: number;
  p99: number;
}

/** Keeps `connections` requests in flight for `seconds`; latencies in ms. */
async function load(url: string, connections: number, seconds: number, sign: boolean): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  const one = async () => {
    while (performance.now() < until) {
      const body = ackBody();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (sign) headers['x-webhook-hmac'] = signWahaBody(body, KEY);
      const t0 = performance.now();
      try {
        const res = await fetch(url, { method: 'POST', headers, body });
        await res.arrayBuffer();
        if (res.ok) ok++;
        else failed++;
      } catch {
        failed++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: connections }, one));
  const elapsed = (performance.now() - started) / 1000;
  return { ok, failed, rps: ok / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export async function benchWebhook(ctx: BenchContext): Promise<Figure[]> {
  return withScratchDatabase(
    'webhook',
    async (db) => {
      const core = db.ctx();
      const config = { ...core.config, dashboardApiToken: 'bench-token', webhookHmacKey: KEY };
      const app = await buildServer({ ctx: { ...core, config }, config });
      const bare = Fastify({ logger: false });
      bare.post('/bare', async (req) => {
        const b = req.body as { id: string; event: string };
        await sql`insert into message_events (event_id, event, raw) values (${b.id}, ${b.event}, ${JSON.stringify(b)}) on conflict (event_id) do nothing`.execute(db.db);
        return { ok: true };
      });
      try {
        const base = await bare.listen({ port: 0, host: '127.0.0.1' });
        const ours = await app.listen({ port: 0, host: '127.0.0.1' });
        ctx.progress(`webhook: warming up (${CONNECTIONS} connections)`);
        await load(`${base}/bare`, CONNECTIONS, 1, false);
        await load(`${ours}/api/webhooks/waha`, CONNECTIONS, 1, true);
        await sql`truncate message_events cascade`.execute(db.db);

        ctx.progress(`webhook: bare insert route, ${SECONDS} s`);
        const b = await load(`${base}/bare`, CONNECTIONS, SECONDS, false);
        const bareRows = Number((await sql<{ n: number }>`select count(*)::int as n from message_events`.execute(db.db)).rows[0]!.n);
        await sql`truncate message_events cascade`.execute(db.db);

        ctx.progress(`webhook: /api/webhooks/waha, ${SECONDS} s`);
        const w = await load(`${ours}/api/webhooks/waha`, CONNECTIONS, SECONDS, true);
        const stored = Number((await sql<{ n: number }>`select count(*)::int as n from message_events`.execute(db.db)).rows[0]!.n);

        const baseRps = { name: 'bare INSERT … ON CONFLICT route', value: b.rps };
        return [
          figure('webhook requests/s', Math.round(w.rps), 'req/s', { ...baseRps, value: Math.round(b.rps) }, `${CONNECTIONS} connections, ${SECONDS} s, HMAC-verified message.ack; aim ≥ 0.70 of the baseline`),
          figure('webhook p99 latency', Number(w.p99.toFixed(2)), 'ms', { name: 'bare route p99', value: Number(b.p99.toFixed(2)) }),
          figure('webhook p50 latency', Number(w.p50.toFixed(2)), 'ms', { name: 'bare route p50', value: Number(b.p50.toFixed(2)) }),
          figure('webhook stored rows / 2xx answers', stored / Math.max(1, w.ok), 'ratio', undefined, `${stored} rows for ${w.ok} 2xx, ${w.failed} non-2xx (bare: ${bareRows} rows for ${b.ok} 2xx)`),
        ];
      } finally {
        await app.close();
        await bare.close();
      }
    },
    { poolSize: 20, realClock: true },
  );
}
