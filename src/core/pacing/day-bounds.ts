// The calendar day of the configured zone that contains an instant: daily_limit counts sends in
// it (promise 1). luxon's startOf('day') is right across DST, including zones whose midnight
// falls in a gap (America/Santiago starts such a day at 01:00).
import { DateTime } from 'luxon';
import { zoneOf } from './local-time.js';

export function dayBounds(now: Date, timezone: string): { start: Date; end: Date } {
  const local = DateTime.fromJSDate(now, { zone: zoneOf(timezone) });
  return { start: local.startOf('day').toJSDate(), end: local.plus({ days: 1 }).startOf('day').toJSDate() };
}
