// Brute-force brake for POST /api/auth/login: after `max` failures from one address within
// `windowMs`, that address gets 429 until the oldest failure leaves the window. In memory: a
// restart forgets, which is acceptable for one server process guarding one token.
export interface LoginLimiter {
  /** Milliseconds to wait when blocked, else 0. */
  retryAfterMs(ip: string, now: number): number;
  fail(ip: string, now: number): void;
  succeed(ip: string): void;
}

export function createLoginLimiter(options: { max?: number; windowMs?: number } = {}): LoginLimiter {
  const max = options.max ?? 5;
  const windowMs = options.windowMs ?? 5 * 60_000;
  const failures = new Map<string, number[]>();
  const recent = (ip: string, now: number): number[] => {
    const list = (failures.get(ip) ?? []).filter((t) => t > now - windowMs);
    if (list.length) failures.set(ip, list);
    else failures.delete(ip);
    return list;
  };
  return {
    retryAfterMs(ip, now) {
      const list = recent(ip, now);
      return list.length >= max ? list[list.length - max]! + windowMs - now : 0;
    },
    fail(ip, now) {
      const list = recent(ip, now);
      list.push(now);
      failures.set(ip, list.slice(-max * 2));
      // Bounded memory under a spray from many addresses.
      if (failures.size > 10_000) failures.delete(failures.keys().next().value!);
    },
    succeed(ip) {
      failures.delete(ip);
    },
  };
}
