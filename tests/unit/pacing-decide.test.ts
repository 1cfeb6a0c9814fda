// decidePacing: every reason a send is held back, and its `until` — the first instant a send is
// allowed, which the worker sleeps to (promise 1: later would under-send, earlier breaks nothing).
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { decidePacing, type PacingState } from '../../src/core/pacing/index.js';
import { DEFAULT_SETTINGS, PRESETS, type Settings } from '../../src/core/settings/settings.schema.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const KIN = 'Africa/Kinshasa';

const fresh = (patch: Partial<PacingState> = {}): PacingState => ({
  sendsToday: 0,
  recentSends: [],
  nextAllowedAt: null,
  blockPauseUntil: null,
  sendsInBlock: 0,
  ...patch,
});
const settingsWith = (patch: Partial<Settings> = {}): Settings => ({ ...DEFAULT_SETTINGS, ...patch });
/** A local wall time in a zone (unambiguous ones only) as a Date. */
const local = (text: string, zone = KIN) => {
  const dt = DateTime.fromISO(text, { zone });
  if (!dt.isValid) throw new Error(`bad local time ${text}`);
  return dt.toJSDate();
};
const iso = (d: Date) => d.toISOString();

function blocked(state: PacingState, settings: Settings, now: Date) {
  const d = decidePacing(state, settings, now);
  if (d.ok) throw new Error(`expected a block at ${iso(now)}`);
  return d;
}

describe('decidePacing: the window and the sending days', () => {
  const s = settingsWith();

  it('allows a send inside the window on a sending day', () => {
    expect(decidePacing(fresh(), s, local('2026-01-05T09:00'))).toEqual({ ok: true });
    expect(decidePacing(fresh(), s, local('2026-01-05T12:34'))).toEqual({ ok: true });
    expect(decidePacing(fresh(), s, new Date(local('2026-01-05T17:30').getTime() - 1))).toEqual({ ok: true });
  });

  it('blocks the instant before the window opens, until it opens', () => {
    const d = blocked(fresh(), s, new Date(local('2026-01-05T09:00').getTime() - 1));
    expect(d.reason).toBe('outside_window');
    expect(iso(d.until)).toBe(iso(local('2026-01-05T09:00')));
    expect(iso(d.until)).toBe('2026-01-05T08:00:00.000Z');
  });

  it('blocks at window end (exclusive) until the next day opens', () => {
    const d = blocked(fresh(), s, local('2026-01-05T17:30'));
    expect(d.reason).toBe('outside_window');
    expect(iso(d.until)).toBe(iso(local('2026-01-06T09:00')));
    expect(d.message).toBe('outside the sending window 09:00–17:30 on Mon–Sat; next send Tue 09:00 Africa/Kinshasa (now Mon 17:30)');
  });

  it('skips Sunday: Saturday evening and all of Sunday wait for Monday 09:00', () => {
    for (const now of ['2026-01-10T17:30', '2026-01-10T23:59', '2026-01-11T00:00', '2026-01-11T10:00']) {
      const d = blocked(fresh(), s, local(now));
      expect(d.reason).toBe('outside_window');
      expect(iso(d.until)).toBe(iso(local('2026-01-12T09:00')));
      expect(d.message).toContain('next send Mon 09:00 Africa/Kinshasa');
    }
  });

  it('follows custom sending days and window', () => {
    const mwf = settingsWith({ sending_days: [1, 3, 5], sending_window_start: '10:15', sending_window_end: '12:00' });
    const d = blocked(fresh(), mwf, local('2026-01-06T11:00')); // Tuesday
    expect(iso(d.until)).toBe(iso(local('2026-01-07T10:15')));
    expect(d.message).toContain('10:15–12:00 on Mon, Wed, Fri');
    const fri = blocked(fresh(), mwf, local('2026-01-09T12:00'));
    expect(iso(fri.until)).toBe(iso(local('2026-01-12T10:15')));
  });

  it('works in Asia/Kolkata (UTC+5:30)', () => {
    const k = settingsWith({ timezone: 'Asia/Kolkata' });
    const d = blocked(fresh(), k, new Date('2026-01-05T03:29:59.999Z'));
    expect(d.reason).toBe('outside_window');
    expect(iso(d.until)).toBe('2026-01-05T03:30:00.000Z'); // 09:00 IST
    expect(decidePacing(fresh(), k, new Date('2026-01-05T03:30:00Z'))).toEqual({ ok: true });
    expect(decidePacing(fresh(), k, new Date('2026-01-05T11:59:59Z'))).toEqual({ ok: true }); // 17:29:59 IST
    expect(blocked(fresh(), k, new Date('2026-01-05T12:00:00Z')).message).toContain('next send Tue 09:00 Asia/Kolkata (now Mon 17:30)');
  });
});

describe('decidePacing: DST days', () => {
  const paris = settingsWith({ timezone: 'Europe/Paris', sending_days: [1, 2, 3, 4, 5, 6, 7] });
  const ny = settingsWith({ timezone: 'America/New_York', sending_days: [1, 2, 3, 4, 5, 6, 7] });

  it('opens 09:00 Europe/Paris at UTC+1 before and UTC+2 after spring forward', () => {
    expect(iso(blocked(fresh(), paris, new Date('2026-03-28T06:00:00Z')).until)).toBe('2026-03-28T08:00:00.000Z');
    expect(iso(blocked(fresh(), paris, new Date('2026-03-28T17:00:00Z')).until)).toBe('2026-03-29T07:00:00.000Z');
    expect(iso(blocked(fresh(), paris, new Date('2026-03-29T06:59:59Z')).until)).toBe('2026-03-29T07:00:00.000Z');
  });

  it('opens at the end of the gap when the window starts inside it (02:30 on spring forward, Paris)', () => {
    const night = { ...paris, sending_window_start: '02:30', sending_window_end: '05:00' };
    // 01:30 CET; 02:00–03:00 does not exist, so the first instant at or after 02:30 is 03:00 CEST.
    const d = blocked(fresh(), night, new Date('2026-03-29T00:30:00Z'));
    expect(iso(d.until)).toBe('2026-03-29T01:00:00.000Z');
    expect(decidePacing(fresh(), night, new Date('2026-03-29T01:00:00Z'))).toEqual({ ok: true });
    expect(d.message).toContain('next send 03:00 Europe/Paris (now Sun 01:30)');
  });

  it('counts both 02:xx hours of the fall-back day in Paris', () => {
    const night = { ...paris, sending_window_start: '02:30', sending_window_end: '02:45' };
    // The first 02:30 (CEST) is 00:30Z; at its 02:45 the window closes, and it reopens at the second 02:30 (CET).
    expect(iso(blocked(fresh(), night, new Date('2026-10-25T00:00:00Z')).until)).toBe('2026-10-25T00:30:00.000Z');
    expect(iso(blocked(fresh(), night, new Date('2026-10-25T00:45:00Z')).until)).toBe('2026-10-25T01:30:00.000Z');
    expect(iso(blocked(fresh(), night, new Date('2026-10-25T01:00:00Z')).until)).toBe('2026-10-25T01:30:00.000Z');
    expect(decidePacing(fresh(), night, new Date('2026-10-25T01:40:00Z'))).toEqual({ ok: true });
    // A window the clock re-enters by falling back opens at the change itself.
    const early = { ...paris, sending_window_start: '02:00', sending_window_end: '02:30' };
    expect(iso(blocked(fresh(), early, new Date('2026-10-25T00:30:00Z')).until)).toBe('2026-10-25T01:00:00.000Z');
  });

  it('opens 09:00 America/New_York across spring forward and fall back', () => {
    expect(iso(blocked(fresh(), ny, new Date('2026-03-07T12:00:00Z')).until)).toBe('2026-03-07T14:00:00.000Z'); // EST
    expect(iso(blocked(fresh(), ny, new Date('2026-03-07T23:00:00Z')).until)).toBe('2026-03-08T13:00:00.000Z'); // EDT
    expect(iso(blocked(fresh(), ny, new Date('2026-10-31T23:00:00Z')).until)).toBe('2026-11-01T14:00:00.000Z'); // EST again
    const night = { ...ny, sending_window_start: '02:15', sending_window_end: '04:00' };
    expect(iso(blocked(fresh(), night, new Date('2026-03-08T06:30:00Z')).until)).toBe('2026-03-08T07:00:00.000Z'); // 03:00 EDT
  });

  it('waits for the next local day across a DST change when the daily limit is reached', () => {
    const d = blocked(fresh({ sendsToday: 30 }), paris, new Date('2026-03-28T10:00:00Z'));
    expect(d.reason).toBe('daily_limit');
    expect(iso(d.until)).toBe('2026-03-29T07:00:00.000Z');
  });
});

describe('decidePacing: limits, pause and delay', () => {
  const s = settingsWith();
  const now = local('2026-01-05T11:00');
  const ago = (minutes: number) => new Date(now.getTime() - minutes * MIN);

  it('daily limit: blocks at the limit until the next sending day opens', () => {
    expect(decidePacing(fresh({ sendsToday: 29 }), s, now)).toEqual({ ok: true });
    const d = blocked(fresh({ sendsToday: 30 }), s, now);
    expect(d.reason).toBe('daily_limit');
    expect(iso(d.until)).toBe(iso(local('2026-01-06T09:00')));
    expect(d.message).toBe('daily limit reached: 30 of 30 sends today; next send Tue 09:00 Africa/Kinshasa (now Mon 11:00)');
    expect(iso(blocked(fresh({ sendsToday: 31 }), s, local('2026-01-10T11:00')).until)).toBe(iso(local('2026-01-12T09:00')));
  });

  it('hourly limit: blocks until the oldest send of the rolling hour is 60 minutes old', () => {
    const cold = settingsWith(PRESETS.cold);
    // 12 sends in the last hour, given in no order; the oldest is 50 minutes ago.
    const sends = Array.from({ length: 12 }, (_, i) => ago(50 - i * 4)).reverse();
    const d = blocked(fresh({ recentSends: sends }), cold, now);
    expect(d.reason).toBe('hourly_limit');
    expect(iso(d.until)).toBe(iso(new Date(ago(50).getTime() + HOUR)));
    expect(d.message).toBe('hourly limit reached: 12 of 12 sends in the last 60 minutes; next send 11:10 Africa/Kinshasa (now Mon 11:00)');
    expect(decidePacing(fresh({ recentSends: sends.slice(1) }), cold, now)).toEqual({ ok: true });
  });

  it('hourly limit: a send exactly 60 minutes old no longer counts, older ones are ignored', () => {
    const cold = settingsWith(PRESETS.cold);
    const sends = [ago(60), ago(90), ...Array.from({ length: 11 }, (_, i) => ago(i + 1))];
    expect(decidePacing(fresh({ recentSends: sends }), cold, now)).toEqual({ ok: true });
  });

  it('hourly limit: over the limit (after lowering it), waits until enough sends age out', () => {
    const cold = settingsWith(PRESETS.cold);
    const sends = Array.from({ length: 14 }, (_, i) => ago(55 - i));
    expect(iso(blocked(fresh({ recentSends: sends }), cold, now).until)).toBe(iso(new Date(ago(53).getTime() + HOUR)));
  });

  it('hourly limit: when the hour frees up after the window closes, waits for the next opening', () => {
    const cold = settingsWith(PRESETS.cold);
    const at = local('2026-01-05T17:15');
    const sends = Array.from({ length: 12 }, (_, i) => new Date(at.getTime() - (40 - i) * MIN));
    const d = blocked(fresh({ recentSends: sends }), cold, at);
    expect(d.reason).toBe('hourly_limit');
    expect(iso(d.until)).toBe(iso(local('2026-01-06T09:00')));
  });

  it('delay: blocks until nextAllowedAt, then allows', () => {
    const next = new Date(now.getTime() + 73_500);
    const d = blocked(fresh({ nextAllowedAt: next }), s, now);
    expect(d.reason).toBe('delay');
    expect(iso(d.until)).toBe(iso(next));
    expect(d.message).toBe('random delay after the last send; next send 11:01:14 Africa/Kinshasa (now Mon 11:00)');
    expect(decidePacing(fresh({ nextAllowedAt: next }), s, next)).toEqual({ ok: true });
    expect(decidePacing(fresh({ nextAllowedAt: ago(1) }), s, now)).toEqual({ ok: true });
  });

  it('delay: ending after the window closes moves the send to the next opening', () => {
    const at = local('2026-01-05T17:29');
    const d = blocked(fresh({ nextAllowedAt: new Date(at.getTime() + 2 * MIN) }), s, at);
    expect(d.reason).toBe('delay');
    expect(iso(d.until)).toBe(iso(local('2026-01-06T09:00')));
  });

  it('block pause: blocks until it ends, and comes before the hour and the delay', () => {
    const pauseEnd = new Date(now.getTime() + 12 * MIN);
    const d = blocked(fresh({ blockPauseUntil: pauseEnd, nextAllowedAt: new Date(now.getTime() + MIN) }), s, now);
    expect(d.reason).toBe('block_pause');
    expect(iso(d.until)).toBe(iso(pauseEnd));
    expect(d.message).toBe('block pause after 25 sends; next send 11:12 Africa/Kinshasa (now Mon 11:00)');
    expect(decidePacing(fresh({ blockPauseUntil: pauseEnd }), s, pauseEnd)).toEqual({ ok: true });
  });

  it('until jumps to the latest rule: a pause ending before a longer delay waits for the delay', () => {
    const d = blocked(fresh({ blockPauseUntil: new Date(now.getTime() + MIN), nextAllowedAt: new Date(now.getTime() + 2 * MIN) }), s, now);
    expect(d.reason).toBe('block_pause');
    expect(iso(d.until)).toBe(iso(new Date(now.getTime() + 2 * MIN)));
  });

  it('precedence: the window first, then the daily limit', () => {
    const everything = fresh({
      sendsToday: 30,
      blockPauseUntil: new Date(now.getTime() + MIN),
      nextAllowedAt: new Date(now.getTime() + MIN),
      recentSends: Array.from({ length: 25 }, (_, i) => ago(i + 1)),
    });
    expect(blocked(everything, s, local('2026-01-05T08:00')).reason).toBe('outside_window');
    expect(iso(blocked(everything, s, local('2026-01-05T08:00')).until)).toBe(iso(local('2026-01-06T09:00')));
    expect(blocked(everything, s, now).reason).toBe('daily_limit');
    expect(blocked({ ...everything, sendsToday: 0 }, s, now).reason).toBe('block_pause');
    expect(blocked({ ...everything, sendsToday: 0, blockPauseUntil: null }, s, now).reason).toBe('hourly_limit');
    expect(blocked({ ...everything, sendsToday: 0, blockPauseUntil: null, recentSends: [] }, s, now).reason).toBe('delay');
  });

  it('shows a far-away next send with its date', () => {
    const onlyFri = settingsWith({ sending_days: [5] });
    const d = blocked(fresh({ sendsToday: 30 }), onlyFri, local('2026-01-09T10:00'));
    expect(iso(d.until)).toBe(iso(local('2026-01-16T09:00')));
    expect(d.message).toContain('next send Fri 16 Jan 09:00 Africa/Kinshasa (now Fri 10:00)');
  });
});
