// Whole-number flags: plain digits only, within the safe range, else a usage error naming the flag.
import { describe, expect, it } from 'vitest';
import { intArg } from '../../src/commands/kit.js';

describe('intArg', () => {
  it('takes plain digits within the bounds', () => {
    expect(intArg('42', '--limit', { min: 1, max: 100 })).toBe(42);
    expect(intArg(' 7 ', '--limit')).toBe(7);
    expect(intArg(undefined, '--limit')).toBeUndefined();
  });
  for (const bad of ['1e20', '0x10', '', '-1', '1.5', 'abc', '99999999999999999999']) {
    it(`refuses ${JSON.stringify(bad)} with a usage error naming the flag`, () => {
      expect(() => intArg(bad, '--limit', { min: 0 })).toThrow(/--limit must be a whole number/);
    });
  }
  it('refuses values beyond max', () => {
    expect(() => intArg('101', '--limit', { min: 1, max: 100 })).toThrow(/from 1 to 100; got "101"/);
  });
});
