// The sending window and sending days (promise 1): a send may start only on a sending day of
// settings.timezone, at a local wall time in [sending_window_start, sending_window_end).
import { DateTime } from 'luxon';
import type { Settings } from '../settings/settings.schema.js';
import { localTime, offsetChange, wallTimeInstants, zoneOf } from './local-time.js';

type WindowSettings = Pick<Settings, 'sending_window_start' | 'sending_window_end' | 'sending_days' | 'timezone'>;

/** "HH:MM" → minutes after midnight. */
export function clockMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

export function isSendingTime(at: number, settings: WindowSettings): boolean {
  const local = localTime(at, settings.timezone);
  if (!settings.sending_days.includes(local.weekday)) return false;
  return local.minuteOfDay >= clockMinutes(settings.sending_window_start) && local.minuteOfDay < clockMinutes(settings.sending_window_end);
}

// A week and a bit: a sending day whose whole window sits in a DST gap is skipped to next week.
const SEARCH_DAYS = 16;

/**
 * The earliest instant at or after `at` that is a sending time. Within a local day the wall clock
 * only jumps at a DST change, so the window can open only where the wall clock reaches the start
 * time, at a DST change that lands inside the window, or at the day's first instant; we try those
 * and keep the first that is a sending time. Never later than the true opening: the worker must
 * not under-send.
 */
export function nextSendingTime(at: number, settings: WindowSettings): number {
  if (isSendingTime(at, settings)) return at;
  const tz = settings.timezone;
  const start = clockMinutes(settings.sending_window_start);
  let day = DateTime.fromMillis(at, { zone: zoneOf(tz) }).startOf('day');
  for (let i = 0; i < SEARCH_DAYS; i++) {
    const next = day.plus({ days: 1 }).startOf('day');
    if (settings.sending_days.includes(day.weekday)) {
      const dayStart = day.toMillis();
      const dayEnd = next.toMillis();
      const candidates = [dayStart, ...wallTimeInstants(day.year, day.month, day.day, start, tz)];
      const change = offsetChange(dayStart, dayEnd - 1, tz);
      if (change !== null) candidates.push(change);
      const opening = candidates
        .filter((c) => c >= at && c >= dayStart && c < dayEnd && isSendingTime(c, settings))
        .sort((a, b) => a - b)[0];
      if (opening !== undefined) return opening;
    }
    day = next;
  }
  throw new Error(`pacing: no sending time within ${SEARCH_DAYS} days of ${new Date(at).toISOString()} (settings are validated, so this is a bug)`);
}
