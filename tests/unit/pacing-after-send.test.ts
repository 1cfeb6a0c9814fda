// afterSend: the random delay after every send and the block pause every pause_after_sends sends
// (promise 1), and the seeded PRNG that makes forecasts repeatable.
import { describe, expect, it, vi } from 'vitest';
import { afterSend, type PacingState, seededRandom } from '../../src/core/pacing/index.js';
import { DEFAULT_SETTINGS, type Settings } from '../../src/core/settings/settings.schema.js';

const s: Settings = { ...DEFAULT_SETTINGS }; // delay 45–120 s, pause 10–20 min after 25 sends
const now = new Date('2026-01-05T10:00:00Z');
const state = (patch: Partial<PacingState> = {}): PacingState => ({
  sendsToday: 3,
  recentSends: [],
  nextAllowedAt: null,
  blockPauseUntil: null,
  sendsInBlock: 0,
  ...patch,
});
const constant = (x: number) => () => x;

describe('afterSend', () => {
  it('draws the delay from [delay_min, delay_max] and sets nextAllowedAt = now + delay', () => {
    const low = afterSend(state(), s, now, constant(0));
    expect(low.delaySeconds).toBe(45);
    expect(low.nextAllowedAt.getTime() - now.getTime()).toBe(45_000);
    expect(afterSend(state(), s, now, constant(0.999_999)).delaySeconds).toBe(120);
    expect(afterSend(state(), s, now, constant(1)).delaySeconds).toBe(120); // an rng that returns 1 still stays in range
    const mid = afterSend(state(), s, now, constant(0.5));
    expect(mid.nextAllowedAt.getTime()).toBe(now.getTime() + mid.delaySeconds * 1000);
  });

  it('draws uniformly: every whole second of the range, with the mean in the middle', () => {
    const rng = seededRandom(42);
    const seen = new Set<number>();
    let sum = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const d = afterSend(state(), s, now, rng).delaySeconds;
      expect(Number.isInteger(d) && d >= 45 && d <= 120).toBe(true);
      seen.add(d);
      sum += d;
    }
    expect(seen.size).toBe(76);
    expect(sum / n).toBeGreaterThan(82.5 - 1);
    expect(sum / n).toBeLessThan(82.5 + 1);
  });

  it('uses Math.random when no rng is given', () => {
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0);
    try {
      expect(afterSend(state(), s, now).delaySeconds).toBe(45);
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('counts the send in the block without a pause before pause_after_sends', () => {
    const r = afterSend(state({ sendsInBlock: 23 }), s, now, constant(0));
    expect(r.sendsInBlock).toBe(24);
    expect(r.blockPauseUntil).toBeNull();
    expect(r.pauseMinutes).toBeUndefined();
  });

  it('starts a block pause of [pause_min, pause_max] minutes on the pause_after_sends-th send, and resets the block', () => {
    for (const [x, minutes] of [
      [0, 10],
      [0.999_999, 20],
    ] as const) {
      const r = afterSend(state({ sendsInBlock: 24 }), s, now, constant(x));
      expect(r.sendsInBlock).toBe(0);
      expect(r.pauseMinutes).toBe(minutes);
      expect(r.blockPauseUntil!.getTime() - now.getTime()).toBe(minutes * 60_000);
    }
    const rng = seededRandom(7);
    for (let i = 0; i < 1000; i++) {
      const r = afterSend(state({ sendsInBlock: 24 }), s, now, rng);
      expect(r.pauseMinutes).toBeGreaterThanOrEqual(10);
      expect(r.pauseMinutes).toBeLessThanOrEqual(20);
      expect(r.blockPauseUntil!.getTime()).toBe(now.getTime() + Math.round(r.pauseMinutes! * 60_000));
      expect(r.nextAllowedAt.getTime()).toBe(now.getTime() + r.delaySeconds * 1000);
    }
  });

  it('pauses after every send when pause_after_sends is 1', () => {
    const every = { ...s, pause_after_sends: 1 };
    expect(afterSend(state(), every, now, constant(0)).pauseMinutes).toBe(10);
  });

  it('keeps a block pause that has not ended yet', () => {
    const later = new Date(now.getTime() + 5 * 60_000);
    expect(afterSend(state({ blockPauseUntil: later }), s, now, constant(0)).blockPauseUntil).toEqual(later);
    expect(afterSend(state({ blockPauseUntil: new Date(now.getTime() - 1) }), s, now, constant(0)).blockPauseUntil).toBeNull();
  });
});

describe('seededRandom', () => {
  it('repeats its sequence for a seed, differs between seeds, and stays in [0, 1)', () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    const c = seededRandom(124);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    const mean = xs.reduce((p, q) => p + q, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});
