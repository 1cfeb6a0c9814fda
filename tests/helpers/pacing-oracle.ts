// The independent side of promise 1 (pacing limits hold), shared by the unit driver
// (tests/unit/pacing-promise-1.test.ts) and the real worker week (tests/integration/worker-week.test.ts):
// local time from Intl, rules re-read from the settings, no pacing code.
import type { Settings } from '../../src/core/settings/settings.schema.js';

const MIN = 60_000;
const HOUR = 3_600_000;

/** One send of a log: when, the delay drawn after it, and the block pause drawn after it (if it ended a block). */
export interface Send {
  at: number;
  delaySeconds: number;
  pauseMinutes?: number;
}

const WEEKDAY: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

export function wallClock(timezone: string): (at: number) => { date: string; weekday: number; minuteOfDay: number } {
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

export const hhmm = (text: string) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));

/**
 * A block pause in whole milliseconds: pauses are drawn in whole seconds and stored as minutes
 * (970 s = 16.1666… min), and minutes × 60,000 in floating point can land a hair above.
 */
const pauseMs = (pauseMinutes: number) => Math.round(pauseMinutes * MIN);

/** Every broken rule in a send log (sends in order, the block counter starting at 0). */
export function violations(sends: Send[], settings: Settings): string[] {
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
      if (s.pauseMinutes !== undefined && gap < pauseMs(s.pauseMinutes)) out.push(`${when}: next send after ${gap} ms, inside the ${s.pauseMinutes} min block pause`);
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
export function allowance(settings: Settings, start: number, end: number, draws: Send[]): number[] {
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
    if ((k + 1) % settings.pause_after_sends === 0) earliest = Math.max(earliest, t + pauseMs(draw.pauseMinutes ?? settings.pause_min_minutes));
  }
}
