// Webhook ingestion over real HTTP: `POST /api/webhooks/waha` of `campaign serve` (HMAC verified,
// stored once, acted on) under autocannon, 50 keep-alive connections for 10 s, each request a
// unique `message.ack` envelope for a message no row carries (the common case: acks for other
// sends, and acks that beat the send result). The baseline, in the same run, on the same database
// and pool: a bare Fastify route doing one `INSERT … ON CONFLICT DO NOTHING`. Aim (issue 5): 70%
// of the baseline's requests per second or better. Also checked (printed, never failed): stored
// rows = 2xx answers.
//
// BENCH_WEBHOOK_SECONDS and BENCH_WEBHOOK_CONNECTIONS override the duration and connections.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { signWahaBody } from '../src/core/webhooks/index.js';
import { buildServer } from '../src/server/build-server.js';
import { type BenchContext, BenchSkipped, figure, type Figure } from './measure.js';
import { withScratchDatabase } from './scratch-db.js';

const KEY = 'bench-hmac-key';
const CONNECTIONS = Number(process.env.BENCH_WEBHOOK_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_WEBHOOK_SECONDS ?? 10);

/** The part of autocannon's programmatic API used here (the package ships no types). */
interface AutocannonRequest {
  method: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  setupRequest?(req: AutocannonRequest): AutocannonRequest;
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number };
  requests: { average: number };
}
type Autocannon = (o: { url: string; connections: number; duration: number; requests: AutocannonRequest[] }) => Promise<AutocannonResult>;

function loadAutocannon(): Autocannon {
  try {
    return createRequire(import.meta.url)('autocannon') as Autocannon;
  } catch {
    throw new BenchSkipped('autocannon is not installed (npm install)');
  }
}

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
  /** 2xx answers autocannon counted (requests still in flight when it stopped are not). */
  ok: number;
  failed: number;
  rps: number;
  p50: number;
  p99: number;
}

/** autocannon for `seconds` on `connections` connections, a fresh envelope id on every request. */
async function load(autocannon: Autocannon, url: string, seconds: number, sign: boolean): Promise<LoadResult> {
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest(req) {
          const body = ackBody();
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (sign) headers['x-webhook-hmac'] = signWahaBody(body, KEY);
          return { ...req, body, headers };
        },
      },
    ],
  });
  const ok = r['2xx'];
  return { ok, failed: r.non2xx + r.errors, rps: ok / r.duration, p50: r.latency.p50, p99: r.latency.p99 };
}

/**
 * Counts the 2xx answers the server gave (onSend: also those whose client hung up when autocannon
 * stopped, which it stored all the same; the client's count misses those).
 */
function count2xx(app: FastifyInstance): { n: number } {
  const c = { n: 0 };
  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode >= 200 && reply.statusCode < 300) c.n++;
    return payload;
  });
  return c;
}

async function settledCount(db: Parameters<Parameters<typeof withScratchDatabase>[1]>[0], server2xx: { n: number }): Promise<number> {
  // Requests in flight when autocannon stopped may still be answered: wait until nothing moves.
  let last = -1;
  const deadline = Date.now() + 10_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const n = Number((await sql<{ n: number }>`select count(*)::int as n from message_events`.execute(db.db)).rows[0]!.n);
    if ((n === last && server2xx.n >= n) || Date.now() > deadline) return n;
    last = n;
  }
}

export async function benchWebhook(ctx: BenchContext): Promise<Figure[]> {
  const autocannon = loadAutocannon();
  return withScratchDatabase(
    'webhook',
    async (db) => {
      const core = db.ctx();
      const config = { ...core.config, dashboardApiToken: 'bench-token', webhookHmacKey: KEY };
      const app = await buildServer({ ctx: { ...core, config }, config });
      const ours2xx = count2xx(app);
      const bare = Fastify({ logger: false });
      const bare2xx = count2xx(bare);
      bare.post('/bare', async (req) => {
        const b = req.body as { id: string; event: string };
        await sql`insert into message_events (event_id, event, raw) values (${b.id}, ${b.event}, ${JSON.stringify(b)}) on conflict (event_id) do nothing`.execute(db.db);
        return { ok: true };
      });
      try {
        const base = await bare.listen({ port: 0, host: '127.0.0.1' });
        const ours = await app.listen({ port: 0, host: '127.0.0.1' });
        ctx.progress(`webhook: warming up (${CONNECTIONS} connections)`);
        await load(autocannon, `${base}/bare`, 1, false);
        await load(autocannon, `${ours}/api/webhooks/waha`, 1, true);
        await settledCount(db, { n: Number.MAX_SAFE_INTEGER });
        await sql`truncate message_events cascade`.execute(db.db);
        bare2xx.n = 0;
        ours2xx.n = 0;

        ctx.progress(`webhook: bare insert route, autocannon ${CONNECTIONS} connections, ${SECONDS} s`);
        const b = await load(autocannon, `${base}/bare`, SECONDS, false);
        const bareRows = await settledCount(db, bare2xx);
        await sql`truncate message_events cascade`.execute(db.db);

        ctx.progress(`webhook: /api/webhooks/waha, autocannon ${CONNECTIONS} connections, ${SECONDS} s`);
        const w = await load(autocannon, `${ours}/api/webhooks/waha`, SECONDS, true);
        const stored = await settledCount(db, ours2xx);

        const ratio = w.rps / b.rps;
        const same = stored === ours2xx.n;
        ctx.progress(
          `webhook: ${Math.round(w.rps)} req/s (p99 ${w.p99} ms) vs bare ${Math.round(b.rps)} req/s (p99 ${b.p99} ms): ratio ${ratio.toFixed(2)} (aim ≥ 0.70)${ratio < 0.7 ? ' BELOW AIM' : ''}`,
        );
        ctx.progress(`webhook: stored rows ${stored} ${same ? '=' : '≠'} 2xx answers ${ours2xx.n}${same ? '' : ' MISMATCH'} (autocannon counted ${w.ok} 2xx, ${w.failed} failed)`);
        return [
          figure('webhook requests/s', Math.round(w.rps), 'req/s', { name: 'bare INSERT … ON CONFLICT route', value: Math.round(b.rps) }, `autocannon, ${CONNECTIONS} connections, ${SECONDS} s, HMAC-verified message.ack, unique ids; aim ≥ 0.70 of the baseline`),
          figure('webhook p99 latency', w.p99, 'ms', { name: 'bare route p99', value: b.p99 }),
          figure('webhook p50 latency', w.p50, 'ms', { name: 'bare route p50', value: b.p50 }),
          figure(
            'webhook stored rows / 2xx answers',
            stored / Math.max(1, ours2xx.n),
            'ratio',
            undefined,
            `${same ? 'OK' : 'MISMATCH'}: ${stored} rows for ${ours2xx.n} 2xx sent (autocannon: ${w.ok} 2xx, ${w.failed} non-2xx/errors); bare: ${bareRows} rows for ${bare2xx.n} 2xx`,
          ),
        ];
      } finally {
        await app.close();
        await bare.close();
      }
    },
    { poolSize: 20, realClock: true },
  );
}
