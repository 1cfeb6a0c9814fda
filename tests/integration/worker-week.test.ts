// promise 1 at the worker level: the real runWorker loop (claim transaction, session_sends,
// session_pacing, worker events) runs a simulated week on a FakeClock against real Postgres and
// the WAHA sandbox. The send log is read back from session_sends and the claim events (the
// drawn delay and pause of each send), then judged by the same independent checker and greedy
// oracle as tests/unit/pacing-promise-1.test.ts (copied here: Intl for local time, no pacing
// code): zero violations, and at least 98% of the sends the rules allowed.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import { FakeClock } from '../../src/core/clock.js';
import { seededRandom } from '../../src/core/pacing/index.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { DEFAULT_SETTINGS, PRESETS, type Settings } from '../../src/core/settings/settings.schema.js';
import { createWahaClient } from '../../src/core/waha/index.js';
import { runWorker } from '../../src/core/worker/run-worker.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface Send {
  at: number;
  delaySeconds: number;
  pauseMinutes?: number;
}

// ---------------------------------------------------------------------------------------------
// The independent side: local time from Intl, rules re-read from the settings.

const WEEKDAY: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function wallClock(timezone: string): (at: number) => { date: string; weekday: number; minuteOfDay: number } {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
  });
  return (at) => {
    const p = Object.fromEntries(fmt.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
    return { date: `${p.year}-${p.month}-${p.day}`, weekday: WEEKDAY[p.weekday!]!, minuteOfDay: Number(p.hour) * 60 + Number(p.minute) };
  };
}

const hhmm = (text: string) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));

/** Every broken rule in a send log (sends in order, the block counter starting at 0). */
function violations(sends: Send[], settings: Settings): string[] {
  const wall = wallClock(settings.timezone);
  const open = hhmm(settings.sending_window_start);
  const close = hhmm(settings.sending_window_end);
  const out: string[] = [];
  const perDate = new Map<string, number>();
  sends.forEach((s, i) => {
    const w = wall(s.at);
    const when = new Date(s.at).toISOString();
    if (!settings.sending_days.includes(w.weekday)) out.push(`${when}: weekday ${w.weekday} is not a sending day`);
    if (w.minuteOfDay < open || w.minuteOfDay >= close) out.push(`${when}: local ${Math.floor(w.minuteOfDay / 60)}:${w.minuteOfDay % 60} is outside the window`);
    perDate.set(w.date, (perDate.get(w.date) ?? 0) + 1);
    // The rolling hour ending at this send: (at - 60 min, at].
    let inHour = 0;
    for (let j = i; j >= 0 && sends[j]!.at > s.at - HOUR; j--) inHour++;
    if (inHour > settings.hourly_limit) out.push(`${when}: ${inHour} sends in the 60 minutes up to it`);
    if (!Number.isInteger(s.delaySeconds) || s.delaySeconds < settings.delay_min_seconds || s.delaySeconds > settings.delay_max_seconds) out.push(`${when}: drawn delay ${s.delaySeconds}s out of range`);
    const endsBlock = (i + 1) % settings.pause_after_sends === 0;
    if (endsBlock !== (s.pauseMinutes !== undefined)) out.push(`${when}: send ${i + 1} ${endsBlock ? 'should' : 'should not'} start a block pause`);
    if (s.pauseMinutes !== undefined && (s.pauseMinutes < settings.pause_min_minutes || s.pauseMinutes > settings.pause_max_minutes)) out.push(`${when}: pause ${s.pauseMinutes} min out of range`);
    const next = sends[i + 1];
    if (next) {
      const gap = next.at - s.at;
      if (gap < s.delaySeconds * 1000) out.push(`${when}: next send after ${gap} ms, inside its ${s.delaySeconds}s delay`);
      // Pauses are drawn in whole seconds and stored as minutes (970 s = 16.1666… min): compare in seconds, not floats.
      if (s.pauseMinutes !== undefined && gap < Math.round(s.pauseMinutes * 60) * 1000) out.push(`${when}: next send after ${gap} ms, inside the ${s.pauseMinutes} min block pause`);
    }
  });
  for (const [date, n] of perDate) if (n > settings.daily_limit) out.push(`${date}: ${n} sends, over the daily limit ${settings.daily_limit}`);
  return out;
}

/**
 * The allowance: a greedy sender that sends at the earliest instant every rule allows, with the
 * same delay and pause draws as the run (the shortest ones once those run out). Sending as early
 * as possible never leaves fewer chances later, so no pacing can send more with these draws. It
 * steps a minute at a time outside the window or over the daily limit (windows open on whole
 * minutes) and jumps to the exact instant for the hour, the delay and the pause.
 */
function allowance(settings: Settings, start: number, end: number, draws: Send[]): number[] {
  const wall = wallClock(settings.timezone);
  const open = hhmm(settings.sending_window_start);
  const close = hhmm(settings.sending_window_end);
  const sent: number[] = [];
  const perDate = new Map<string, number>();
  let earliest = start;
  for (;;) {
    let t = earliest;
    for (;;) {
      if (t >= end) return sent;
      const w = wall(t);
      const nextMinute = Math.floor(t / MIN) * MIN + MIN;
      if (!settings.sending_days.includes(w.weekday) || w.minuteOfDay < open || w.minuteOfDay >= close) t = nextMinute;
      else if ((perDate.get(w.date) ?? 0) >= settings.daily_limit) t = nextMinute;
      else {
        const inHour = sent.filter((s) => s > t - HOUR);
        if (inHour.length < settings.hourly_limit) break;
        t = inHour[inHour.length - settings.hourly_limit]! + HOUR;
      }
    }
    const k = sent.length;
    sent.push(t);
    perDate.set(wall(t).date, (perDate.get(wall(t).date) ?? 0) + 1);
    const draw = draws[k] ?? { delaySeconds: settings.delay_min_seconds, pauseMinutes: settings.pause_min_minutes };
    earliest = t + draw.delaySeconds * 1000;
    if ((k + 1) % settings.pause_after_sends === 0) earliest = Math.max(earliest, t + (draw.pauseMinutes ?? settings.pause_min_minutes) * MIN);
  }
}

// ---------------------------------------------------------------------------------------------

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
        await t.db
          .insertInto('contacts')
          .values(Array.from({ length: contacts }, (_, i) => {
            const chat = `2438${String(50_000_000 + n * 1000 + i).slice(-8)}@c.us`;
            return {
              crm_id: `${brand}-${i}`, name: `W ${i}`, first_name: `W${i}`, phone_raw: `+${chat.split('@')[0]}`, chat_id: chat, phone_valid: true,
              city: 'Matadi', source: 'store', store_id: 'MAT-1', brand, registered_brands: [brand],
            };
          }))
          .execute();
        const { campaign } = await createCampaign(ctx, { name: brand, brand, session, template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } });
        await approveCampaign(ctx, String(campaign.id));
        await buildQueue(ctx, String(campaign.id));
        await startCampaign(ctx, String(campaign.id));

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
