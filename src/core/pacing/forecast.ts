// When will a campaign finish? Answered by running the worker's own rules (decidePacing, then
// afterSend) on a simulated clock, so the forecast cannot drift from what the worker does.
import type { Settings } from '../settings/settings.schema.js';
import { afterSend } from './after-send.js';
import { dayBounds } from './day-bounds.js';
import { decidePacing } from './decide-pacing.js';
import { localTime } from './local-time.js';
import type { PacingState } from './pacing-state.js';
import { seededRandom } from './seeded-random.js';

export interface ForecastInput {
  remaining: number;
  state: PacingState;
  settings: Settings;
  now: Date;
  /** Draws for delays and pauses; a fixed seed by default, so the same input gives the same answer. */
  rng?: () => number;
  /** Give up (finishAt null) when the sends would not be done within this many days. */
  maxDays?: number;
}

export interface Forecast {
  /** When the last send leaves; null when it would be later than maxDays. */
  finishAt: Date | null;
  /** Local days (settings.timezone) that have sends, in order. */
  perDay: Array<{ date: string; sends: number }>;
  simulatedSends: number;
}

export const FORECAST_SEED = 20_240_601;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export function forecast(input: ForecastInput): Forecast {
  const { remaining, settings } = input;
  const rng = input.rng ?? seededRandom(FORECAST_SEED);
  const start = input.now.getTime();
  const horizon = start + (input.maxDays ?? 366) * DAY;
  const perDay = new Map<string, number>();
  let state: PacingState = input.state; // replaced, never mutated: the caller's state stays as given
  let dayEnd = dayBounds(input.now, settings.timezone).end.getTime();
  let t = start;
  let sent = 0;
  let lastSend = start;

  while (sent < remaining && t < horizon) {
    if (t >= dayEnd) {
      // A new local day: the daily count starts again, as the claim's count of today's sends would.
      dayEnd = dayBounds(new Date(t), settings.timezone).end.getTime();
      state = { ...state, sendsToday: 0 };
    }
    const now = new Date(t);
    const decision = decidePacing(state, settings, now);
    if (!decision.ok) {
      // Jump straight to the first allowed instant: never step the clock.
      t = decision.until.getTime();
      continue;
    }
    sent++;
    lastSend = t;
    const date = localTime(t, settings.timezone).date;
    perDay.set(date, (perDay.get(date) ?? 0) + 1);
    const next = afterSend(state, settings, now, rng);
    state = {
      sendsToday: state.sendsToday + 1,
      recentSends: [...state.recentSends.filter((d) => d.getTime() > t - HOUR), now],
      nextAllowedAt: next.nextAllowedAt,
      blockPauseUntil: next.blockPauseUntil,
      sendsInBlock: next.sendsInBlock,
    };
    // Every instant before the drawn delay (or pause) ends is blocked, so skip asking about them.
    t = Math.max(t, next.nextAllowedAt.getTime(), next.blockPauseUntil?.getTime() ?? t);
  }

  return {
    finishAt: sent >= remaining ? new Date(lastSend) : null,
    perDay: [...perDay].map(([date, sends]) => ({ date, sends })),
    simulatedSends: sent,
  };
}
