// promise 1 (pacing is a hard limit), tried on the paths next to the one the week-long tests walk:
// a slow 501 whose fallback leaves later than its claim, media that takes longer to resolve than
// the delay, on each of WAHA's engines, with two workers racing on one session, and a one-time
// preview racing a worker. Measured where WhatsApp sees it: the arrival times of the
// message-creating requests in the sandbox's own record, not our database.
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { systemClock } from '../../src/core/clock.js';
import type { Context } from '../../src/core/context.js';
import { sendPreview } from '../../src/core/preview/index.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { addTestUser } from '../../src/core/test-users/test-user.service.js';
import { createWahaClient } from '../../src/core/waha/index.js';
import { runWorker } from '../../src/core/worker/run-worker.js';
import type { MediaResolver } from '../../src/core/worker/send-recipient.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { alwaysOpenSettings, BUTTONS_TEMPLATE, drcContact } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const DELAY_S = 1;
let t: TestDatabase;
let ctx: Context;
let seq = 0;
let session = '';

beforeAll(async () => {
  t = await createTestDatabase({ clock: systemClock });
  ctx = t.ctx();
  await addTestUser(ctx, { name: 'Tess Tester', phone: '+243812340001' });
});
afterAll(async () => t?.drop());
beforeEach(async () => {
  session = `p1s${++seq}`;
  await updateSettings(ctx, { ...alwaysOpenSettings(), max_attempts: 3, delay_min_seconds: DELAY_S, delay_max_seconds: DELAY_S });
});

async function runningCampaign(n: number, template: unknown): Promise<number> {
  const brand = `p1brand${seq}`;
  for (let i = 0; i < n; i++) {
    await t.db.insertInto('contacts').values(drcContact(31_000_000 + seq * 100 + i, { name: `P ${i}`, first_name: `P${i}`, city: 'Kinshasa', source: 'store', store_id: 'GOM-12', brand })).execute();
  }
  const { campaign } = await createCampaign(ctx, { name: `p1-${seq}`, brand, session, template });
  await approveCampaign(ctx, String(campaign.id));
  expect((await buildQueue(ctx, String(campaign.id))).queued).toBe(n);
  await startCampaign(ctx, String(campaign.id));
  return campaign.id;
}

/** Runs `count` workers on the session until every row of the campaign is final. */
async function race(campaignId: number, s: Sandbox, count: number, resolveMedia: MediaResolver = async (p) => p): Promise<void> {
  const stop = new AbortController();
  const workers = Array.from({ length: count }, (_, i) =>
    runWorker(ctx, { waha: createWahaClient({ baseUrl: s.url, timeoutMs: 5000 }), resolveMedia, rng: Math.random }, {
      name: `p1-w${seq}-${i}`, version: 'test', stop: stop.signal, heartbeatMs: 200, maintenanceMs: 60_000,
    }),
  );
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      const open = await sql<{ n: number }>`select count(*)::int as n from send_queue where campaign_id = ${campaignId} and status in ('PENDING','SENDING')`.execute(t.db);
      if (open.rows[0]!.n === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    stop.abort();
    await Promise.all(workers);
  }
}

/** Gaps in ms between consecutive message-creating requests that reached the sandbox for the session. */
function gapsAtWaha(s: Sandbox): number[] {
  const at = s.requests
    .filter((q) => q.method === 'POST' && /^\/api\/send/.test(q.path) && (q.body as { session?: string } | undefined)?.session === session)
    .map((q) => Date.parse(q.at))
    .sort((a, b) => a - b);
  return at.slice(1).map((x, i) => x - at[i]!);
}

describe('promise 1: the delay holds at WAHA on the paths next to the plain send', () => {
  for (const engine of ['WEBJS', 'NOWEB', 'GOWS'] as const) {
    it(`promise 1: ${engine}, two workers, a slow 501 for buttons: every request WAHA receives, fallbacks included, is at least the delay after the one before`, async () => {
      const s = await startSandbox({ port: 0, engine, sessions: [session], seed: seq, faults: { notImplementedButtons: true, latencyMs: 600 } });
      try {
        const id = await runningCampaign(3, BUTTONS_TEMPLATE);
        await race(id, s, 2);
        const rows = await t.db.selectFrom('send_queue').select(['status', 'used_fallback']).where('campaign_id', '=', id).execute();
        expect(rows.map((r) => [r.status, r.used_fallback])).toEqual(Array(3).fill(['SENT_API_ACCEPTED', true]));
        const gaps = gapsAtWaha(s);
        expect(gaps.length).toBeGreaterThanOrEqual(3); // at least one 501 and three fallbacks
        expect(Math.min(...gaps)).toBeGreaterThanOrEqual(DELAY_S * 1000);
        // Each of those requests is counted toward the daily and hourly limits.
        const counted = await t.db.selectFrom('session_sends').select('id').where('session', '=', session).execute();
        expect(counted).toHaveLength(gaps.length + 1);
      } finally {
        await s.close();
      }
    });
  }

  it('promise 1: media slower to resolve than the delay does not let a second worker send in between', async () => {
    const s = await startSandbox({ port: 0, engine: 'NOWEB', sessions: [session], seed: seq });
    try {
      const id = await runningCampaign(3, { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' });
      const slowMedia: MediaResolver = async (p) => {
        await new Promise((r) => setTimeout(r, 1500));
        return p;
      };
      await race(id, s, 2, slowMedia);
      expect(await t.db.selectFrom('send_queue').select('status').where('campaign_id', '=', id).execute()).toEqual(Array(3).fill({ status: 'SENT_API_ACCEPTED' }));
      const gaps = gapsAtWaha(s);
      expect(gaps).toHaveLength(2);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(DELAY_S * 1000);
    } finally {
      await s.close();
    }
  });

  it('promise 1: one-time previews racing a worker keep the delay at WAHA (one pacing decision for both)', async () => {
    const s = await startSandbox({ port: 0, engine: 'WEBJS', sessions: [session], seed: seq });
    try {
      const id = await runningCampaign(3, { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' });
      // The previews are of a draft on the same session (the running one may complete first).
      const draft = (await createCampaign(ctx, { name: `p1-draft-${seq}`, brand: `p1brand${seq}`, session, template: { mode: 'simple', type: 'text', text: 'Preview {{first_name}}' } })).campaign.id;
      const waha = createWahaClient({ baseUrl: s.url, timeoutMs: 5000 });
      const previews = (async () => {
        for (let i = 0; i < 2; i++) {
          await sendPreview(ctx, { campaign: String(draft), testUser: 'Tess Tester' }, { waha, resolveMedia: async (p) => p, maxWaitMs: 30_000 });
        }
      })();
      await race(id, s, 1);
      await previews;
      const gaps = gapsAtWaha(s);
      expect(gaps).toHaveLength(4);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(DELAY_S * 1000);
    } finally {
      await s.close();
    }
  });
});
