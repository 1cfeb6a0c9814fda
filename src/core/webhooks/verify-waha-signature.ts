// WAHA signs webhooks with HMAC-SHA512 over the raw body bytes, lower-case hex in X-Webhook-Hmac
// (contract §7.2). Verified against the bytes received, never re-serialized JSON, and compared in
// constant time so the answer's timing says nothing about how much of a forged signature matched.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function signWahaBody(rawBody: Buffer | string, key: string): string {
  return createHmac('sha512', key).update(rawBody).digest('hex');
}

/** True only when `header` is exactly the hex HMAC-SHA512 of `rawBody` under `key`. */
export function verifyWahaSignature(rawBody: Buffer | string, header: string | string[] | undefined, key: string): boolean {
  if (typeof header !== 'string' || header.length === 0) return false;
  const expected = Buffer.from(signWahaBody(rawBody, key), 'utf8');
  const given = Buffer.from(header.trim().toLowerCase(), 'utf8');
  // timingSafeEqual needs equal lengths; comparing lengths first leaks only the length, which is public (128).
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Compares two secrets (API tokens) in constant time whatever their lengths: both are hashed
 * first, so neither the content nor the length of the expected token leaks through timing.
 */
export function secretsEqual(given: string | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}
