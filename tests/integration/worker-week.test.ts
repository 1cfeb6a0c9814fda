// promise 1 at the worker level: the real runWorker loop (claim transaction, session_sends,
// session_pacing, worker events) runs a simulated week on a FakeClock against real Postgres and
// the WAHA sandbox. The send log is read back from session_sends and the claim events (the
// drawn delay and pause of each send), then judged by the same independent checker and greedy
// oracle as tests/unit/pacing-promise-1.test.ts (tests/helpers/pacing-oracle.ts: Intl for local
// time, no pacing code): zero violations, and at least 98% of the sends the rules allowed.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { seededRandom } from '../../src/core/pacing/index.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { DEFAULT_SETTINGS, PRESETS, type Settings } from '../../src/core/settings/settings.schema.js';
import { createWahaClient } from '../../src/core/waha/index.js';
import { runWorker } from '../../src/core/worker/run-worker.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { allowance, type Send, violations } from '../helpers/pacing-oracle.js';
import { seedContacts, startedCampaign } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const DAY = 86_400_000;

/** A fake clock that raises the stop signal once the simulated week is over. */
class WeekClock extends FakeClock {
  constructor(start: number, private readonly end: number, private readonly stop: AbortController) {
    super(start);
  }

  override async sleep(ms: number): Promise<void> {
    await super.sleep(ms);
    if (this.now().getTime() >= this.end) this.stop.abort();
  }
}

const everyDay = [1, 2, 3, 4, 5, 6, 7];
const WEEKS: Array<{ name: string; settings: Settings; start: string }> = [
  {
    name: 'cold preset, Europe/Paris, spring-forward week (23-hour Sunday), every day',
    settings: { ...DEFAULT_SETTINGS, ...PRESETS.cold, timezone: 'Europe/Paris', sending_days: everyDay },
    start: '2026-03-26T00:00:00Z',
  },
  {
    name: 'cold preset, America/New_York, fall-back week, window over the repeated hour',
    settings: { ...DEFAULT_SETTINGS, ...PRESETS.cold, timezone: 'America/New_York', sending_days: everyDay, sending_window_start: '00:30', sending_window_end: '03:30' },
    start: '2026-10-29T00:00:00Z',
  },
];

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

describe('promise 1: a simulated week of the real worker', () => {
  WEEKS.forEach((week, n) => {
    it(`a simulated week of the worker, ${week.name}: zero limit violations in session_sends, at least 98% of the allowed sends`, async () => {
      const session = `week${n}`;
      const brand = `week${n}`;
      const startAt = Date.parse(week.start);
      const endAt = startAt + 7 * DAY;
      const stop = new AbortController();
      const clock = new WeekClock(startAt, endAt, stop);
      const ctx = t.ctx({ clock });
      // Long polls: the loop wakes at each decision's `until`, so a week costs a few hundred claims.
      await updateSettings(ctx, { ...week.settings, poll_interval_seconds: 3600 });
      const sandbox = await startSandbox({ port: 0, seed: 5 + n, sessions: [session] });
      try {
        const contacts = 250;
        await seedContacts(t.db, { count: contacts, first: 50_000_000 + n * 1000, crmPrefix: brand, label: 'W', city: 'Matadi', storeId: 'MAT-1', brand });
        const campaign = await startedCampaign(ctx, { name: brand, brand, session });
        expect(campaign.queued).toBe(contacts);

        const summary = await runWorker(
          ctx,
          { waha: createWahaClient({ baseUrl: sandbox.url, timeoutMs: 5000 }), resolveMedia: async (p) => p, rng: seededRandom(4321 + n) },
          { name: `week-${n}`, version: 'test', stop: stop.signal, heartbeatMs: DAY, maintenanceMs: DAY },
        );
        await sql`update campaigns set status = 'CANCELLED' where id = ${campaign.id} and status = 'RUNNING'`.execute(t.db);

        const at = (await t.db.selectFrom('session_sends').select('at').where('session', '=', session).orderBy('at').orderBy('id').execute()).map((r) => r.at.getTime());
        const claims = await t.db.selectFrom('worker_events').select(['at', 'details']).where('event', '=', 'claim').where('waha_session', '=', session).orderBy('id').execute();
        expect(claims.map((c) => c.at.getTime())).toEqual(at);
        const sends: Send[] = claims.map((c) => {
          const d = (typeof c.details === 'string' ? JSON.parse(c.details) : c.details) as { delaySeconds: number; pauseMinutes: number | null };
          return { at: c.at.getTime(), delaySeconds: d.delaySeconds, ...(d.pauseMinutes !== null && d.pauseMinutes !== undefined ? { pauseMinutes: d.pauseMinutes } : {}) };
        });
        expect(summary.sent).toBe(sends.length);
        expect(sandbox.messages).toHaveLength(sends.length);
        expect(sends.length).toBeLessThan(contacts); // the queue never ran dry: the rules, not the audience, set the pace
        expect(violations(sends, week.settings)).toEqual([]);
        const allowed = allowance(week.settings, startAt, endAt, sends);
        expect(sends.length).toBeGreaterThanOrEqual(Math.ceil(0.98 * allowed.length));
        expect(sends.length).toBeGreaterThan(50);
        console.log(`${week.name}: ${sends.length} sends, ${allowed.length} allowed`);
      } finally {
        stop.abort();
        await sandbox.close();
      }
    });
  });
});
