// The first instant a send is allowed if nothing else is sent meanwhile. It is the `until` of a
// blocked decision, so a worker can sleep exactly that long: later would under-send, earlier
// only costs a wasted claim.
import type { Settings } from '../settings/settings.schema.js';
import { dayBounds } from './day-bounds.js';
import type { PacingOptions, PacingState } from './pacing-state.js';
import { nextSendingTime } from './sending-window.js';

const HOUR = 3_600_000;

/** Send instants that still count in some rolling hour from `now` on, oldest first. */
export function recentSendTimes(state: PacingState, now: number): number[] {
  return state.recentSends
    .map((d) => d.getTime())
    .filter((t) => t > now - HOUR)
    .sort((a, b) => a - b);
}

/**
 * The earliest instant at or after `at` when fewer than `limit` of the sends fall in the rolling
 * hour (at - 60 min, at]. A send exactly 60 minutes old no longer counts, so with the limit
 * reached the answer is the oldest counted send + 1 h (or the one after it, when over).
 */
export function hourlyReleaseAt(sorted: number[], limit: number, at: number): number {
  let first = 0;
  while (first < sorted.length && sorted[first]! <= at - HOUR) first++;
  const counted = sorted.length - first;
  if (counted < limit) return at;
  return sorted[first + counted - limit]! + HOUR;
}

export function firstAllowedAt(state: PacingState, settings: Settings, now: Date, options: PacingOptions = {}): Date {
  const recent = recentSendTimes(state, now.getTime());
  let t = Math.max(now.getTime(), state.nextAllowedAt?.getTime() ?? -Infinity, state.blockPauseUntil?.getTime() ?? -Infinity, state.inFlightUntil?.getTime() ?? -Infinity);
  let todayEnd: number | undefined;
  // Each pass moves t forward to satisfy one rule; a later rule can only push it further, and
  // once past today and the last hour nothing pushes back, so this settles in a few passes.
  for (let pass = 0; pass < 50; pass++) {
    if (!options.ignoreWindow) t = nextSendingTime(t, settings);
    if (state.sendsToday >= settings.daily_limit) {
      todayEnd ??= dayBounds(now, settings.timezone).end.getTime();
      // Sends counted today are all before tomorrow, so tomorrow starts from zero.
      if (t < todayEnd) {
        t = todayEnd;
        continue;
      }
    }
    const release = hourlyReleaseAt(recent, settings.hourly_limit, t);
    if (release > t) {
      t = release;
      continue;
    }
    return new Date(t);
  }
  throw new Error('pacing: the first allowed instant did not settle (a bug)');
}
