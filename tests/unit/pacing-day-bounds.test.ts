// dayBounds: the calendar day of the configured zone, which daily_limit counts in (promise 1).
import { describe, expect, it } from 'vitest';
import { dayBounds } from '../../src/core/pacing/index.js';

const HOUR = 3_600_000;
const iso = (d: Date) => d.toISOString();

describe('dayBounds', () => {
  it('is the local day in a fixed-offset zone (Africa/Kinshasa, UTC+1)', () => {
    const b = dayBounds(new Date('2026-01-05T10:00:00Z'), 'Africa/Kinshasa');
    expect(iso(b.start)).toBe('2026-01-04T23:00:00.000Z');
    expect(iso(b.end)).toBe('2026-01-05T23:00:00.000Z');
  });

  it('puts local midnight in the new day and the instant before it in the old one', () => {
    expect(iso(dayBounds(new Date('2026-01-04T23:00:00Z'), 'Africa/Kinshasa').start)).toBe('2026-01-04T23:00:00.000Z');
    expect(iso(dayBounds(new Date('2026-01-04T22:59:59.999Z'), 'Africa/Kinshasa').end)).toBe('2026-01-04T23:00:00.000Z');
  });

  it('handles the half-hour offset of Asia/Kolkata (UTC+5:30)', () => {
    const b = dayBounds(new Date('2026-01-05T20:00:00Z'), 'Asia/Kolkata'); // 01:30 on the 6th
    expect(iso(b.start)).toBe('2026-01-05T18:30:00.000Z');
    expect(iso(b.end)).toBe('2026-01-06T18:30:00.000Z');
  });

  it('is 23 hours on the spring-forward day in Europe/Paris', () => {
    const b = dayBounds(new Date('2026-03-29T12:00:00Z'), 'Europe/Paris');
    expect(iso(b.start)).toBe('2026-03-28T23:00:00.000Z');
    expect(iso(b.end)).toBe('2026-03-29T22:00:00.000Z');
    expect(b.end.getTime() - b.start.getTime()).toBe(23 * HOUR);
  });

  it('is 25 hours on the fall-back day in Europe/Paris, both 02:xx hours included', () => {
    const b = dayBounds(new Date('2026-10-25T00:30:00Z'), 'Europe/Paris'); // the first 02:30
    expect(iso(b.start)).toBe('2026-10-24T22:00:00.000Z');
    expect(iso(b.end)).toBe('2026-10-25T23:00:00.000Z');
    expect(b.end.getTime() - b.start.getTime()).toBe(25 * HOUR);
    expect(dayBounds(new Date('2026-10-25T01:30:00Z'), 'Europe/Paris')).toEqual(b); // the second 02:30
  });

  it('is right on both DST days of America/New_York', () => {
    const spring = dayBounds(new Date('2026-03-08T15:00:00Z'), 'America/New_York');
    expect(iso(spring.start)).toBe('2026-03-08T05:00:00.000Z');
    expect(iso(spring.end)).toBe('2026-03-09T04:00:00.000Z');
    const fall = dayBounds(new Date('2026-11-01T15:00:00Z'), 'America/New_York');
    expect(iso(fall.start)).toBe('2026-11-01T04:00:00.000Z');
    expect(iso(fall.end)).toBe('2026-11-02T05:00:00.000Z');
  });

  it('starts the day at 01:00 where midnight falls in the gap (America/Santiago)', () => {
    const b = dayBounds(new Date('2026-09-06T15:00:00Z'), 'America/Santiago');
    expect(iso(b.start)).toBe('2026-09-06T04:00:00.000Z'); // 01:00 -03:00
    expect(iso(b.end)).toBe('2026-09-07T03:00:00.000Z');
  });

  it('refuses an unknown zone instead of counting a wrong day', () => {
    expect(() => dayBounds(new Date(), 'Mars/Base')).toThrow(/time zone/);
  });
});
