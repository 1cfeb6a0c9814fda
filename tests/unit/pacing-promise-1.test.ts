// promise 1: pacing limits hold. A worker-like driver runs decidePacing/afterSend for a simulated
// week on a FakeClock; a checker written separately (Intl for local time, no pacing code) then
// looks for any send outside the window or days, over the daily or hourly limit, closer than its
// drawn delay or inside a block pause; and a greedy oracle, also written separately, says how
// many sends the rules allowed, so a pacing that over-blocks fails too.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { afterSend, dayBounds, decidePacing, type PacingState, seededRandom } from '../../src/core/pacing/index.js';
import { DEFAULT_SETTINGS, PRESETS, type Settings } from '../../src/core/settings/settings.schema.js';
import { allowance, hhmm, type Send, violations, wallClock } from '../helpers/pacing-oracle.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------
// The driver: what the worker does, minus the database. Its state is derived from the send log
// the way the claim derives it from session_sends (count since local midnight, sends in the hour).

function drive(settings: Settings, start: Date, days: number, seed: number): { sends: Send[]; decisions: number; problems: string[] } {
  const clock = new FakeClock(start);
  const end = start.getTime() + days * DAY;
  const rng = seededRandom(seed);
  const probe = seededRandom(seed + 1);
  const sends: Send[] = [];
  const problems: string[] = [];
  let stored = { nextAllowedAt: null as Date | null, blockPauseUntil: null as Date | null, sendsInBlock: 0 };
  const stateAt = (t: number): PacingState => {
    const dayStart = dayBounds(new Date(t), settings.timezone).start.getTime();
    return {
      sendsToday: sends.filter((s) => s.at >= dayStart && s.at <= t).length,
      recentSends: sends.filter((s) => s.at > t - HOUR && s.at <= t).map((s) => new Date(s.at)),
      ...stored,
    };
  };
  let decisions = 0;
  while (clock.now().getTime() < end) {
    const now = clock.now();
    const state = stateAt(now.getTime());
    const d = decidePacing(state, settings, now);
    decisions++;
    if (d.ok) {
      const next = afterSend(state, settings, now, rng);
      sends.push({ at: now.getTime(), delaySeconds: next.delaySeconds, pauseMinutes: next.pauseMinutes });
      stored = { nextAllowedAt: next.nextAllowedAt, blockPauseUntil: next.blockPauseUntil, sendsInBlock: next.sendsInBlock };
      continue;
    }
    const until = d.until.getTime();
    if (until <= now.getTime()) problems.push(`until ${d.until.toISOString()} is not after now ${now.toISOString()}`);
    // `until` must be the first allowed instant: allowed there, blocked at a few instants before.
    if (!decidePacing(stateAt(until), settings, d.until).ok) problems.push(`${d.reason}: not allowed at its until ${d.until.toISOString()}`);
    for (const t of [until - 1, now.getTime() + Math.floor(probe() * (until - now.getTime()))]) {
      if (t >= now.getTime() && decidePacing(stateAt(t), settings, new Date(t)).ok) problems.push(`${d.reason}: allowed at ${new Date(t).toISOString()}, before its until ${d.until.toISOString()}`);
    }
    clock.set(d.until);
  }
  return { sends: sends.filter((s) => s.at < end), decisions, problems };
}

const everyDay = [1, 2, 3, 4, 5, 6, 7];
const WEEKS: Array<{ name: string; settings: Settings; start: string }> = [
  { name: 'cold preset, Africa/Kinshasa', settings: { ...DEFAULT_SETTINGS, ...PRESETS.cold }, start: '2026-01-05T00:00:00Z' },
  { name: 'warm preset, Africa/Kinshasa', settings: { ...DEFAULT_SETTINGS, ...PRESETS.warm }, start: '2026-01-05T00:00:00Z' },
  { name: 'warming preset, Asia/Kolkata', settings: { ...DEFAULT_SETTINGS, ...PRESETS.warming, timezone: 'Asia/Kolkata' }, start: '2026-01-07T13:17:00Z' },
  {
    // The window 01:00–04:00 straddles the missing 02:xx hour of Sunday 29 March.
    name: 'warm preset, Europe/Paris, spring-forward week, window over the gap',
    settings: { ...DEFAULT_SETTINGS, ...PRESETS.warm, timezone: 'Europe/Paris', sending_days: everyDay, sending_window_start: '01:00', sending_window_end: '04:00' },
    start: '2026-03-26T00:00:00Z',
  },
  {
    // The window 00:30–03:30 holds the repeated 01:xx hour of Sunday 1 November (25-hour day).
    name: 'cold preset, America/New_York, fall-back week, window over the repeated hour',
    settings: { ...DEFAULT_SETTINGS, ...PRESETS.cold, timezone: 'America/New_York', sending_days: everyDay, sending_window_start: '00:30', sending_window_end: '03:30' },
    start: '2026-10-29T00:00:00Z',
  },
  {
    name: 'warm preset, Europe/Paris, fall-back week, default window',
    settings: { ...DEFAULT_SETTINGS, ...PRESETS.warm, timezone: 'Europe/Paris' },
    start: '2026-10-22T00:00:00Z',
  },
];

describe('promise 1: pacing limits hold', () => {
  for (const week of WEEKS) {
    it(`a simulated week, ${week.name}: no violation, at least 98% of the allowed sends`, () => {
      const start = new Date(week.start);
      const run = drive(week.settings, start, 7, 1234);
      expect(run.problems).toEqual([]);
      expect(run.sends.length).toBeGreaterThan(50);
      expect(violations(run.sends, week.settings)).toEqual([]);
      const allowed = allowance(week.settings, start.getTime(), start.getTime() + 7 * DAY, run.sends);
      expect(run.sends.length).toBeGreaterThanOrEqual(Math.ceil(0.98 * allowed.length));
      // The run jumps to `until` instead of stepping: a few decisions per send, not one per second.
      expect(run.decisions).toBeLessThan(run.sends.length * 4 + 100);
    });
  }

  it('the week runs hit every limit: the daily limit binds and block pauses happen', () => {
    const s = { ...DEFAULT_SETTINGS, ...PRESETS.cold };
    const run = drive(s, new Date('2026-01-05T00:00:00Z'), 7, 99);
    const wall = wallClock(s.timezone);
    const perDate = new Map<string, number>();
    for (const x of run.sends) perDate.set(wall(x.at).date, (perDate.get(wall(x.at).date) ?? 0) + 1);
    expect([...perDate.values()]).toEqual([30, 30, 30, 30, 30, 30]); // Mon–Sat, nothing on Sunday
    expect(run.sends.filter((x) => x.pauseMinutes !== undefined).length).toBe(Math.floor(180 / 25));
    // The hourly limit binds for the cold preset: some rolling hour holds exactly 12 sends.
    const full = run.sends.some((x, i) => run.sends.filter((y, j) => j <= i && y.at > x.at - HOUR).length === s.hourly_limit);
    expect(full).toBe(true);
  });

  it('the checker is not blind: it reports each kind of violation', () => {
    const s = { ...DEFAULT_SETTINGS, ...PRESETS.cold };
    const mon9 = Date.parse('2026-01-05T08:00:00Z'); // 09:00 Kinshasa
    const ok = (at: number): Send => ({ at, delaySeconds: 60 });
    expect(violations([ok(mon9), ok(mon9 + 2 * MIN)], s)).toEqual([]);
    expect(violations([ok(mon9 - 1)], s).join()).toMatch(/outside the window/);
    expect(violations([ok(Date.parse('2026-01-11T10:00:00Z'))], s).join()).toMatch(/not a sending day/);
    expect(violations([ok(mon9), ok(mon9 + 59_999)], s).join()).toMatch(/inside its 60s delay/);
    expect(violations(Array.from({ length: 13 }, (_, i) => ok(mon9 + i * 4 * MIN)), s).join()).toMatch(/13 sends in the 60 minutes/);
    const day = Array.from({ length: 31 }, (_, i) => ({ ...ok(mon9 + i * 15 * MIN), pauseMinutes: i === 24 ? 10 : undefined }));
    expect(violations(day, s).join()).toMatch(/over the daily limit/);
    const noPause = Array.from({ length: 26 }, (_, i) => ok(mon9 + i * 15 * MIN));
    expect(violations(noPause, s).join()).toMatch(/should start a block pause/);
    const shortPause = Array.from({ length: 26 }, (_, i) => ({ ...ok(mon9 + i * 5 * MIN), pauseMinutes: i === 24 ? 10 : undefined }));
    expect(violations(shortPause, s).join()).toMatch(/inside the 10 min block pause/);
  });

  it('until is the first allowed instant for random states (never later, so the worker never under-sends)', () => {
    const rng = seededRandom(5);
    const zones = ['Africa/Kinshasa', 'Asia/Kolkata', 'Europe/Paris', 'America/New_York'];
    const base = Date.parse('2026-03-05T00:00:00Z');
    let blocked = 0;
    for (let i = 0; i < 300; i++) {
      const settings: Settings = { ...DEFAULT_SETTINGS, ...PRESETS.cold, timezone: zones[i % zones.length]!, sending_days: everyDay };
      // Around the spring DST switches of 2026 (8 and 29 March), at any time of day.
      const now = base + Math.floor(rng() * 30 * DAY);
      const recent = Array.from({ length: Math.floor(rng() * 14) }, () => new Date(now - Math.floor(rng() * HOUR)));
      const state: PacingState = {
        sendsToday: Math.floor(rng() * 32),
        recentSends: recent,
        nextAllowedAt: rng() < 0.5 ? new Date(now + Math.floor(rng() * 3 * MIN)) : null,
        blockPauseUntil: rng() < 0.3 ? new Date(now + Math.floor(rng() * 20 * MIN)) : null,
        sendsInBlock: 0,
      };
      const d = decidePacing(state, settings, new Date(now));
      if (d.ok) continue;
      blocked++;
      // Independently: minute by minute from now, the first instant the rules allow (the
      // daily count resets on a new local date; window edges and the other bounds are checked
      // at their exact instants, so stepping by minutes plus those instants is exhaustive).
      const wall = wallClock(settings.timezone);
      const today = wall(now).date;
      const allowedAt = (t: number) => {
        const w = wall(t);
        return (
          settings.sending_days.includes(w.weekday) &&
          w.minuteOfDay >= hhmm(settings.sending_window_start) &&
          w.minuteOfDay < hhmm(settings.sending_window_end) &&
          (w.date !== today || state.sendsToday < settings.daily_limit) &&
          recent.filter((r) => r.getTime() > t - HOUR).length < settings.hourly_limit &&
          t >= (state.nextAllowedAt?.getTime() ?? 0) &&
          t >= (state.blockPauseUntil?.getTime() ?? 0)
        );
      };
      const exact = [...recent.map((r) => r.getTime() + HOUR), state.nextAllowedAt?.getTime() ?? now, state.blockPauseUntil?.getTime() ?? now];
      let first: number | undefined;
      for (let t = Math.ceil(now / MIN) * MIN; t < now + 3 * DAY && first === undefined; t += MIN) {
        const candidates = [t, ...exact.filter((x) => x > t - MIN && x < t)].sort((a, b) => a - b);
        first = candidates.find((c) => c >= now && allowedAt(c));
      }
      expect(allowedAt(now), `blocked ${d.reason} at ${new Date(now).toISOString()} but the rules allow it`).toBe(false);
      expect(d.until.getTime(), `${settings.timezone} ${d.reason} at ${new Date(now).toISOString()}`).toBe(first);
    }
    // The checks above run only for blocked states: most of the random states must be blocked.
    expect(blocked).toBeGreaterThan(150);
  });
});
