// Pacing settings: the defaults and presets of DESIGN.md, and the rules a set of settings must
// keep. The whole set is validated after every change, so no combination that breaks a rule is
// ever stored.
import { z } from 'zod';
import { closest } from '../did-you-mean.js';
import type { Issue } from '../errors.js';

export interface Settings {
  daily_limit: number;
  hourly_limit: number;
  sending_window_start: string;
  sending_window_end: string;
  sending_days: number[];
  delay_min_seconds: number;
  delay_max_seconds: number;
  pause_after_sends: number;
  pause_min_minutes: number;
  pause_max_minutes: number;
  max_attempts: number;
  poll_interval_seconds: number;
  timezone: string;
  /** Skip contacts messaged by another campaign within this many days; 0 turns it off. */
  frequency_cap_days: number;
  /** Auto-pause a campaign when this share of its recent sends failed (0–1). */
  failure_pause_threshold: number;
  /** How many recent sends the failure rate looks at. */
  failure_window_sends: number;
  /** Whole-message keywords that opt a contact out (case-insensitive). */
  opt_out_keywords: string[];
  /** Whole-message keywords that opt a contact back in. */
  opt_in_keywords: string[];
}

export const DEFAULT_SETTINGS: Settings = {
  daily_limit: 30,
  hourly_limit: 25,
  sending_window_start: '09:00',
  sending_window_end: '17:30',
  sending_days: [1, 2, 3, 4, 5, 6],
  delay_min_seconds: 45,
  delay_max_seconds: 120,
  pause_after_sends: 25,
  pause_min_minutes: 10,
  pause_max_minutes: 20,
  max_attempts: 3,
  poll_interval_seconds: 45,
  timezone: 'Africa/Kinshasa',
  frequency_cap_days: 0,
  failure_pause_threshold: 0.5,
  failure_window_sends: 10,
  opt_out_keywords: ['STOP', 'STOP ALL', 'UNSUBSCRIBE', 'ARRET', 'ARRÊT', 'DESABONNER'],
  opt_in_keywords: ['START'],
};

export const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS) as Array<keyof Settings>;

export const PRESETS = {
  cold: { daily_limit: 30, hourly_limit: 12, delay_min_seconds: 60, delay_max_seconds: 180 },
  warming: { daily_limit: 60, hourly_limit: 18, delay_min_seconds: 60, delay_max_seconds: 150 },
  warm: { daily_limit: 100, hourly_limit: 25, delay_min_seconds: 45, delay_max_seconds: 120 },
} as const satisfies Record<string, Partial<Settings>>;

export type PresetName = keyof typeof PRESETS;

/** What each setting controls, for `settings show` and the dashboard. */
export const SETTING_HELP: Record<keyof Settings, string> = {
  daily_limit: 'Most sends per WAHA session in one calendar day of the timezone',
  hourly_limit: 'Most sends per WAHA session in any rolling 60 minutes',
  sending_window_start: 'Earliest local time (HH:MM) a send may start',
  sending_window_end: 'Latest local time (HH:MM); no send starts at or after it',
  sending_days: 'ISO weekdays sends are allowed (1 = Monday … 7 = Sunday)',
  delay_min_seconds: 'Shortest random delay after a send',
  delay_max_seconds: 'Longest random delay after a send',
  pause_after_sends: 'Sends in a block before a block pause',
  pause_min_minutes: 'Shortest random block pause',
  pause_max_minutes: 'Longest random block pause',
  max_attempts: 'Attempts before a recipient is marked FAILED',
  poll_interval_seconds: 'How often an idle worker looks for work',
  timezone: 'IANA time zone of the window and days (e.g. Africa/Kinshasa)',
  frequency_cap_days: 'Skip contacts messaged by another campaign within this many days (0 = off)',
  failure_pause_threshold: 'Auto-pause a campaign when this share of recent sends failed (0-1)',
  failure_window_sends: 'How many recent sends the failure rate is measured over',
  opt_out_keywords: 'Whole-message replies that opt a contact out',
  opt_in_keywords: 'Whole-message replies that opt a contact back in',
};

const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time as HH:MM (24-hour), for example 09:00');
const int = (min: number, max = 1_000_000) =>
  z.number({ error: 'must be a whole number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const keywords = z.array(z.string().trim().min(1, 'keywords cannot be empty')).min(1, 'needs at least one keyword');

const fieldSchemas: { [K in keyof Settings]: z.ZodType<Settings[K]> } = {
  daily_limit: int(1),
  hourly_limit: int(1),
  sending_window_start: time,
  sending_window_end: time,
  sending_days: z
    .array(z.number().int('days are whole numbers').min(1, 'days are ISO weekdays 1-7 (1 = Monday)').max(7, 'days are ISO weekdays 1-7 (7 = Sunday)'))
    .min(1, 'needs at least one day, for example 1,2,3,4,5'),
  delay_min_seconds: int(0, 86_400),
  delay_max_seconds: int(0, 86_400),
  pause_after_sends: int(1),
  pause_min_minutes: int(0, 1440),
  pause_max_minutes: int(0, 1440),
  max_attempts: int(1, 20),
  poll_interval_seconds: int(1, 3600),
  timezone: z.string().refine(isValidTimezone, 'is not a known IANA time zone (examples: Africa/Kinshasa, Africa/Lubumbashi, Asia/Kolkata)'),
  frequency_cap_days: int(0, 3650),
  failure_pause_threshold: z.number({ error: 'must be a number from 0 to 1' }).min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1'),
  failure_window_sends: int(1, 1000),
  opt_out_keywords: keywords,
  opt_in_keywords: keywords,
};

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** Every rule a whole set of settings must keep; returns the broken ones, each naming its key. */
export function checkSettings(s: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  for (const key of Object.keys(s)) {
    if (!(key in fieldSchemas)) {
      const near = closest(key, SETTING_KEYS);
      issues.push({ path: key, message: `is not a setting${near ? `; did you mean ${near}?` : ''} (known: ${SETTING_KEYS.join(', ')})` });
    }
  }
  for (const key of SETTING_KEYS) {
    const r = fieldSchemas[key].safeParse(s[key]);
    if (!r.success) issues.push({ path: key, message: r.error.issues[0]?.message ?? 'is not valid' });
  }
  if (issues.length > 0) return issues;
  const v = s as unknown as Settings;
  if (minutes(v.sending_window_end) <= minutes(v.sending_window_start)) {
    issues.push({ path: 'sending_window_end', message: `must be after sending_window_start (${v.sending_window_start}); got ${v.sending_window_end}` });
  }
  if (v.delay_min_seconds > v.delay_max_seconds) {
    issues.push({ path: 'delay_min_seconds', message: `must not exceed delay_max_seconds (${v.delay_max_seconds}); got ${v.delay_min_seconds}` });
  }
  if (v.pause_min_minutes > v.pause_max_minutes) {
    issues.push({ path: 'pause_min_minutes', message: `must not exceed pause_max_minutes (${v.pause_max_minutes}); got ${v.pause_min_minutes}` });
  }
  if (v.hourly_limit > v.daily_limit) {
    issues.push({ path: 'hourly_limit', message: `must not exceed daily_limit (${v.daily_limit}); got ${v.hourly_limit}` });
  }
  return issues;
}

/** Parses `key=value` text from the CLI into a typed value for that key. */
export function parseSettingValue(key: string, raw: string): unknown {
  const def = (DEFAULT_SETTINGS as unknown as Record<string, unknown>)[key];
  const text = raw.trim();
  if (Array.isArray(def)) {
    if (text.startsWith('[')) {
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    }
    const parts = text === '' ? [] : text.split(',').map((p) => p.trim());
    return typeof def[0] === 'number' ? parts.map((p) => (/^-?\d+(\.\d+)?$/.test(p) ? Number(p) : p)) : parts;
  }
  if (typeof def === 'number') return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
  return text;
}
