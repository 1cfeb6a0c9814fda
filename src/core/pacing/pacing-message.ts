// The sentence an operator reads when pacing holds a send back: what blocks, the local time of
// the next send and the zone, since ops often sit in another zone than the audience. Formatted
// by hand from the cached offsets: a saturated rolling hour blocks before every send, and a
// luxon DateTime per message made forecasts ten times slower.
import type { Settings } from '../settings/settings.schema.js';
import type { PacingReason } from './pacing-state.js';
import { localTime } from './local-time.js';

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_DAYS = 6 * 86_400_000;

/** ISO weekdays as runs: [1,2,3,4,5,6] → "Mon–Sat", [1,3,5] → "Mon, Wed, Fri". */
export function describeDays(days: number[]): string {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const from = WEEKDAYS[sorted[i]! - 1]!;
    const to = WEEKDAYS[sorted[j]! - 1]!;
    runs.push(j === i ? from : j === i + 1 ? `${from}, ${to}` : `${from}–${to}`);
    i = j + 1;
  }
  return runs.join(', ');
}

/** Local wall time of `at`, with as much date as a reader standing at `now` needs. */
function localLabel(at: Date, now: Date, timezone: string, withWeekday: boolean): string {
  // Seconds are rounded up so the text never promises a send earlier than the real instant.
  const ms = at.getTime();
  const shown = localTime(Math.ceil(ms / 1000) * 1000, timezone);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hhmm = `${pad(Math.floor(shown.minuteOfDay / 60))}:${pad(shown.minuteOfDay % 60)}`;
  const time = shown.second === 0 ? hhmm : `${hhmm}:${pad(shown.second)}`;
  const weekday = WEEKDAYS[shown.weekday - 1]!;
  if (!withWeekday && shown.date === localTime(now.getTime(), timezone).date) return time;
  if (Math.abs(ms - now.getTime()) < SIX_DAYS) return `${weekday} ${time}`;
  return `${weekday} ${shown.day} ${MONTHS[shown.month - 1]} ${time}`;
}

export function pacingMessage(reason: PacingReason, details: { sendsToday: number; hourCount: number }, settings: Settings, now: Date, until: Date): string {
  const tz = settings.timezone;
  const next = `next send ${localLabel(until, now, tz, false)} ${tz} (now ${localLabel(now, now, tz, true)})`;
  switch (reason) {
    case 'outside_window':
      return `outside the sending window ${settings.sending_window_start}–${settings.sending_window_end} on ${describeDays(settings.sending_days)}; ${next}`;
    case 'daily_limit':
      return `daily limit reached: ${details.sendsToday} of ${settings.daily_limit} sends today; ${next}`;
    case 'block_pause':
      return `block pause after ${settings.pause_after_sends} sends; ${next}`;
    case 'hourly_limit':
      return `hourly limit reached: ${details.hourCount} of ${settings.hourly_limit} sends in the last 60 minutes; ${next}`;
    case 'delay':
      return `random delay after the last send; ${next}`;
  }
}
