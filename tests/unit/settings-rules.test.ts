import { describe, expect, it } from 'vitest';
import { checkSettings, DEFAULT_SETTINGS, isValidTimezone, parseSettingValue, PRESETS } from '../../src/core/settings/settings.schema.js';

const withChange = (patch: Record<string, unknown>) => checkSettings({ ...DEFAULT_SETTINGS, ...patch });

describe('settings rules', () => {
  it('accepts the defaults and every preset', () => {
    expect(checkSettings({ ...DEFAULT_SETTINGS })).toEqual([]);
    for (const p of Object.values(PRESETS)) expect(withChange(p)).toEqual([]);
  });

  it('matches the presets of DESIGN.md', () => {
    expect(PRESETS.cold).toEqual({ daily_limit: 30, hourly_limit: 12, delay_min_seconds: 60, delay_max_seconds: 180 });
    expect(PRESETS.warming).toEqual({ daily_limit: 60, hourly_limit: 18, delay_min_seconds: 60, delay_max_seconds: 150 });
    expect(PRESETS.warm).toEqual({ daily_limit: 100, hourly_limit: 25, delay_min_seconds: 45, delay_max_seconds: 120 });
  });

  it.each([
    [{ sending_window_end: '09:00' }, 'sending_window_end', /after sending_window_start/],
    [{ sending_window_end: '08:00' }, 'sending_window_end', /after/],
    [{ sending_window_start: '9am' }, 'sending_window_start', /HH:MM/],
    [{ delay_min_seconds: 200 }, 'delay_min_seconds', /delay_max_seconds/],
    [{ pause_min_minutes: 30 }, 'pause_min_minutes', /pause_max_minutes/],
    [{ sending_days: [0, 1] }, 'sending_days', /1-7/],
    [{ sending_days: [8] }, 'sending_days', /1-7/],
    [{ sending_days: [] }, 'sending_days', /at least one day/],
    [{ daily_limit: 0 }, 'daily_limit', /at least 1/],
    [{ hourly_limit: 0 }, 'hourly_limit', /at least 1/],
    [{ hourly_limit: 40 }, 'hourly_limit', /daily_limit/],
    [{ timezone: 'Mars/Base' }, 'timezone', /time zone/],
    [{ daily_limit: 'lots' }, 'daily_limit', /whole number/],
    [{ dayly_limit: 5 }, 'dayly_limit', /did you mean daily_limit/],
  ])('rejects %j naming %s', (patch, key, rule) => {
    const issues = withChange(patch);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]!.path).toBe(key);
    expect(issues[0]!.message).toMatch(rule);
  });

  it('validates time zones with Intl (aliases included)', () => {
    expect(isValidTimezone('Asia/Kolkata')).toBe(true);
    expect(isValidTimezone('Africa/Lubumbashi')).toBe(true);
    expect(isValidTimezone('Africa/Kinshasa')).toBe(true);
    expect(isValidTimezone('Mars/Base')).toBe(false);
    expect(withChange({ timezone: 'Asia/Kolkata' })).toEqual([]);
  });

  it('parses CLI values by the type of the setting', () => {
    expect(parseSettingValue('daily_limit', '60')).toBe(60);
    expect(parseSettingValue('sending_days', '1,2, 3')).toEqual([1, 2, 3]);
    expect(parseSettingValue('sending_days', '')).toEqual([]);
    expect(parseSettingValue('opt_out_keywords', 'STOP,ARRET')).toEqual(['STOP', 'ARRET']);
    expect(parseSettingValue('timezone', ' Africa/Lubumbashi ')).toBe('Africa/Lubumbashi');
    expect(parseSettingValue('daily_limit', 'x')).toBe('x');
  });
});
