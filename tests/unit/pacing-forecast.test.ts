// forecast: the finish time of the remaining sends, from the worker's own pacing rules run on a
// simulated clock. Checked against a worker-like run with other random draws.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { afterSend, dayBounds, decidePacing, forecast, type PacingState, seededRandom } from '../../src/core/pacing/index.js';
import { DEFAULT_SETTINGS, PRESETS, type Settings } from '../../src/core/settings/settings.schema.js';

const HOUR = 3_600_000;
const empty: PacingState = { sendsToday: 0, recentSends: [], nextAllowedAt: null, blockPauseUntil: null, sendsInBlock: 0 };
const cold: Settings = { ...DEFAULT_SETTINGS, ...PRESETS.cold };
const warm: Settings = { ...DEFAULT_SETTINGS, ...PRESETS.warm };

/** A worker on a fake clock: claim when allowed, otherwise sleep until `until`; returns the last send. */
function simulate(settings: Settings, start: Date, remaining: number, rng: () => number): Date {
  const clock = new FakeClock(start);
  const sends: number[] = [];
  let stored = { nextAllowedAt: null as Date | null, blockPauseUntil: null as Date | null, sendsInBlock: 0 };
  while (sends.length < remaining) {
    const now = clock.now();
    const t = now.getTime();
    const dayStart = dayBounds(now, settings.timezone).start.getTime();
    let today = 0;
    for (let i = sends.length - 1; i >= 0 && sends[i]! >= dayStart; i--) today++;
    const state: PacingState = { sendsToday: today, recentSends: sends.filter((s) => s > t - HOUR).map((s) => new Date(s)), ...stored };
    const d = decidePacing(state, settings, now);
    if (!d.ok) {
      clock.set(d.until);
      continue;
    }
    sends.push(t);
    const next = afterSend(state, settings, now, rng);
    stored = { nextAllowedAt: next.nextAllowedAt, blockPauseUntil: next.blockPauseUntil, sendsInBlock: next.sendsInBlock };
  }
  return new Date(sends[sends.length - 1]!);
}

describe('forecast', () => {
  const cases: Array<[string, Settings, number, string]> = [
    ['cold preset, 500 sends, Africa/Kinshasa', cold, 500, '2026-01-05T10:00:00Z'],
    ['warm preset, 2,000 sends, Africa/Kinshasa', warm, 2000, '2026-01-07T14:00:00Z'],
    ['warm preset, 150 sends within two days', warm, 150, '2026-01-05T07:00:00Z'],
    ['warming preset, 3,000 sends across DST in Europe/Paris', { ...DEFAULT_SETTINGS, ...PRESETS.warming, timezone: 'Europe/Paris' }, 3000, '2026-02-20T12:00:00Z'],
  ];
  for (const [name, settings, remaining, start] of cases) {
    it(`finishes within 5% of a simulated worker run: ${name}`, () => {
      const now = new Date(start);
      const f = forecast({ remaining, state: empty, settings, now });
      const run = simulate(settings, now, remaining, seededRandom(777));
      expect(f.finishAt).not.toBeNull();
      expect(f.simulatedSends).toBe(remaining);
      const forecastSpan = f.finishAt!.getTime() - now.getTime();
      const runSpan = run.getTime() - now.getTime();
      expect(Math.abs(forecastSpan - runSpan) / runSpan).toBeLessThanOrEqual(0.05);
    });
  }

  it('counts the sends of each local day, never over the daily limit, skipping non-sending days', () => {
    const f = forecast({ remaining: 100, state: empty, settings: cold, now: new Date('2026-01-08T08:00:00Z') }); // Thursday 09:00
    expect(f.perDay).toEqual([
      { date: '2026-01-08', sends: 30 },
      { date: '2026-01-09', sends: 30 },
      { date: '2026-01-10', sends: 30 },
      { date: '2026-01-12', sends: 10 },
    ]);
    expect(f.finishAt!.toISOString().slice(0, 10)).toBe('2026-01-12');
  });

  it('starts from the given state: today’s sends, the hour, the delay and a running pause', () => {
    const now = new Date('2026-01-05T15:00:00Z'); // Monday 16:00 Kinshasa
    const state: PacingState = { ...empty, sendsToday: 29, blockPauseUntil: new Date(now.getTime() + 15 * 60_000) };
    const f = forecast({ remaining: 2, state, settings: cold, now });
    expect(f.perDay).toEqual([
      { date: '2026-01-05', sends: 1 },
      { date: '2026-01-06', sends: 1 },
    ]);
    expect(f.finishAt!.toISOString()).toBe('2026-01-06T08:00:00.000Z');
  });

  it('is repeatable without an rng, and follows the rng when given one', () => {
    const input = { remaining: 300, state: empty, settings: warm, now: new Date('2026-01-05T08:00:00Z') };
    expect(forecast(input)).toEqual(forecast(input));
    expect(forecast({ ...input, rng: seededRandom(1) })).toEqual(forecast({ ...input, rng: seededRandom(1) }));
    expect(forecast({ ...input, rng: seededRandom(1) }).finishAt).not.toEqual(forecast({ ...input, rng: seededRandom(2) }).finishAt);
  });

  it('gives up after maxDays with finishAt null and what it managed', () => {
    const f = forecast({ remaining: 10_000, state: empty, settings: cold, now: new Date('2026-01-05T08:00:00Z') });
    expect(f.finishAt).toBeNull();
    expect(f.simulatedSends).toBeLessThan(10_000);
    expect(f.perDay.reduce((n, d) => n + d.sends, 0)).toBe(f.simulatedSends);
    const short = forecast({ remaining: 100, state: empty, settings: cold, now: new Date('2026-01-05T08:00:00Z'), maxDays: 2 });
    expect(short.finishAt).toBeNull();
    expect(short.simulatedSends).toBe(60);
  });

  it('has nothing to do when nothing remains', () => {
    const now = new Date('2026-01-11T10:00:00Z');
    expect(forecast({ remaining: 0, state: empty, settings: cold, now })).toEqual({ finishAt: now, perDay: [], simulatedSends: 0 });
  });

  it('jumps the clock instead of stepping it: 10,000 sends in well under a few seconds', () => {
    // A guard against a per-second loop (which would take minutes), not a benchmark.
    const t0 = performance.now();
    const f = forecast({ remaining: 10_000, state: empty, settings: warm, now: new Date('2026-01-05T08:00:00Z') });
    const ms = performance.now() - t0;
    expect(f.simulatedSends).toBe(10_000);
    expect(ms).toBeLessThan(5_000);
  });
});
