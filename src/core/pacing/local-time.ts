// Wall-clock parts of an instant in an IANA zone. The offsets come from luxon's IANAZone, memoised
// per six-hour span: asking Intl for every decision made a 10,000-send forecast take a second.
import { IANAZone } from 'luxon';

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
  /** Minutes since local midnight on the wall clock (hour * 60 + minute). */
  minuteOfDay: number;
  second: number;
  /** yyyy-mm-dd */
  date: string;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
// No zone changes its offset twice within six hours, so a span holds at most one change.
const SPAN = 6 * 3_600_000;
const MAX_SPANS = 100_000;

/** A six-hour span of one zone: the offset at its start and, when it changes inside, where. */
interface Span {
  before: number;
  change: number | null;
  after: number;
}

const spans = new Map<string, Map<number, Span>>();

export function zoneOf(timezone: string): IANAZone {
  const zone = IANAZone.create(timezone);
  if (!zone.isValid) throw new Error(`pacing: unknown time zone ${JSON.stringify(timezone)} (settings are validated, so this is a bug)`);
  return zone;
}

function spanOf(index: number, timezone: string): Span {
  let byIndex = spans.get(timezone);
  if (byIndex === undefined || byIndex.size > MAX_SPANS) {
    byIndex = new Map();
    spans.set(timezone, byIndex);
  }
  let span = byIndex.get(index);
  if (span === undefined) {
    const zone = zoneOf(timezone);
    let lo = index * SPAN;
    let hi = lo + SPAN;
    const before = zone.offset(lo);
    const after = zone.offset(hi);
    let change: number | null = null;
    if (after !== before) {
      // Binary search to the millisecond: the first instant with the new offset.
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (zone.offset(mid) === before) lo = mid;
        else hi = mid;
      }
      change = hi;
    }
    span = { before, change, after };
    byIndex.set(index, span);
  }
  return span;
}

/** The zone's UTC offset at `at`, in minutes. */
export function utcOffset(at: number, timezone: string): number {
  const span = spanOf(Math.floor(at / SPAN), timezone);
  return span.change === null || at < span.change ? span.before : span.after;
}

/** The first instant in (from, to] at which the zone's offset changes, or null. */
export function offsetChange(from: number, to: number, timezone: string): number | null {
  for (let i = Math.floor(from / SPAN); i <= Math.floor(to / SPAN); i++) {
    const { change } = spanOf(i, timezone);
    if (change !== null && change > from && change <= to) return change;
  }
  return null;
}

export function localTime(at: number, timezone: string): LocalTime {
  const wall = new Date(at + utcOffset(at, timezone) * MINUTE);
  const year = wall.getUTCFullYear();
  const month = wall.getUTCMonth() + 1;
  const day = wall.getUTCDate();
  return {
    year,
    month,
    day,
    weekday: ((wall.getUTCDay() + 6) % 7) + 1,
    minuteOfDay: wall.getUTCHours() * 60 + wall.getUTCMinutes(),
    second: wall.getUTCSeconds(),
    date: `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
  };
}

/**
 * Every instant whose local wall time is exactly that date and minute: none when the minute falls
 * in a spring-forward gap, two on a fall-back overlap. luxon's `fromObject` picks one for us (the
 * later of two, and a shifted time inside a gap), which would open a window late, so we list them.
 */
export function wallTimeInstants(year: number, month: number, day: number, minuteOfDay: number, timezone: string): number[] {
  const wall = Date.UTC(year, month - 1, day, 0, minuteOfDay);
  // The true instant is within a day of `wall` read as UTC; the offsets a day either side are the
  // ones before and after any change near it.
  const offsets = new Set([utcOffset(wall - DAY, timezone), utcOffset(wall, timezone), utcOffset(wall + DAY, timezone)]);
  return [...offsets]
    .map((offset) => wall - offset * MINUTE)
    .filter((at) => utcOffset(at, timezone) * MINUTE === wall - at)
    .sort((a, b) => a - b);
}
