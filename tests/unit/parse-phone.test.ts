import { describe, expect, it } from 'vitest';
import { parsePhone } from '../../src/core/phones/parse-phone.js';

describe('phones to chat ids (libphonenumber-js max, default country CD)', () => {
  it.each([
    '+243 81 234 5678',
    '0812345678',
    '243812345678',
    '812345678',
    '00243812345678',
    '+243 081 234 5678',
    '(+243) 812.345.678',
    '\u0660\u0668\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668', // Arabic-Indic 0812345678
    '\u200E+243 812 345 678\u200F',
    '  +243-812-345-678  ',
  ])('%s → 243812345678@c.us', (raw) => {
    expect(parsePhone(raw)).toMatchObject({ valid: true, chatId: '243812345678@c.us' });
  });

  it('keeps foreign numbers given with +', () => {
    expect(parsePhone('+919876543210')).toMatchObject({ valid: true, chatId: '919876543210@c.us' });
    expect(parsePhone('0091 98765 43210')).toMatchObject({ valid: true, chatId: '919876543210@c.us' });
  });

  it.each([
    ['919876543210', /not a valid number/],
    ['9876543210', /not a valid number|wrong length/],
    ['24381234', /./],
    ['12', /too short|not a phone/],
    ['+2438123456789999', /./],
    ['0812abc678', /letters/],
    ['tel:+243812345678', /letters/],
    ['+243812345678 ext 12', /extension/],
    ['+243812345678, +243812345679', /several/],
    ['call me at +243812345678', /letters/],
    ['', /no phone/],
    [null, /no phone/],
    ['+', /not a phone/],
  ])('%j is invalid with a reason', (raw, reason) => {
    const r = parsePhone(raw as string | null);
    expect(r.valid).toBe(false);
    if (!r.valid) expect(r.reason).toMatch(reason);
  });

  it('test users must give the country code', () => {
    expect(parsePhone('0812345678', { requireInternational: true })).toMatchObject({ valid: false, reason: expect.stringContaining('+919876543210') });
    expect(parsePhone('+243812345678', { requireInternational: true })).toMatchObject({ valid: true });
  });
});
