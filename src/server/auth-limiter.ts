// promise 8: one brake for every failed authentication on every route (a bearer token, the
// login, the live stream's ?token=, the webhook's signature or URL token). After `max` failures
// from one client within `windowMs`, that client gets 429 on every authenticated route until the
// oldest failure leaves the window, even with the right token: while blocked its guesses are not
// even compared, so a correct one cannot be told from a wrong one. A success does not wipe the
// count: a guesser behind the same address as a real user would otherwise get fresh tries with
// every request of that user. Another address is never affected.
//
// The same state rate-limits the audit: one `auth.failed` row per client per window, carrying
// how many failures went unrecorded since the client's previous row, never one row per request.
//
// In memory and bounded: at most `maxClients` addresses, at most `max` timestamps each. When that
// many are tracked, every further client shares one overflow budget (fails closed) rather than
// pushing out the oldest: otherwise cycling through more addresses than the bound (a /48 holds
// 65,536 /64s) would give each one fresh tries, and an audit row each. IPv6 clients count per
// /64, the block one host usually holds. A restart forgets, which is acceptable for one server
// process guarding one token.
import { isIP } from 'node:net';

export interface AuthLimiterOptions {
  max?: number;
  windowMs?: number;
  maxClients?: number;
}

export interface AuditDue {
  /** Failures of this client within the window, this one included. */
  failures: number;
  /** Failures since this client's previous audit row that have no row of their own. */
  notAudited: number;
}

export interface AuthLimiter {
  readonly max: number;
  readonly windowMs: number;
  /** Milliseconds the client must wait before an authenticated route answers it, else 0. */
  retryAfterMs(client: string, now: number): number;
  /** Counts one failure; says whether this one gets an audit row (undefined: counted only). */
  fail(client: string, now: number): AuditDue | undefined;
  /** Clients tracked right now (for tests of the memory bound). */
  readonly size: number;
}

interface ClientState {
  failures: number[];
  auditedAt?: number;
  notAudited: number;
}

/** The key a client counts under: its IPv4 address, or the /64 of its IPv6 address. */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIP(ip) !== 6) return ip;
  const [left = '', right] = ip.split('%')[0]!.toLowerCase().split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const head = groups(left);
  const tail = right === undefined ? [] : groups(right);
  const all = [...head, ...Array(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  return `${all.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** The one budget every client shares once `maxClients` are tracked (never an address). */
export const OVERFLOW = '(overflow)';

export function createAuthLimiter(options: AuthLimiterOptions = {}): AuthLimiter {
  const max = options.max ?? 10;
  const windowMs = options.windowMs ?? 5 * 60_000;
  const maxClients = options.maxClients ?? 10_000;
  const clients = new Map<string, ClientState>();
  let sweptAt = -Infinity;

  const recent = (key: string, now: number): ClientState | undefined => {
    const s = clients.get(key);
    if (!s) return undefined;
    s.failures = s.failures.filter((t) => t > now - windowMs);
    if (s.failures.length === 0 && (s.auditedAt === undefined || now - s.auditedAt >= windowMs) && s.notAudited === 0) {
      clients.delete(key);
      return undefined;
    }
    return s;
  };

  /** The key a client counts under now: its own, or the shared overflow when the map is full. */
  const keyFor = (client: string, now: number): string => {
    if (recent(client, now)) return client;
    if (clients.size >= maxClients && now - sweptAt >= 1000) {
      sweptAt = now;
      for (const key of [...clients.keys()]) recent(key, now);
    }
    // The last place is kept for the overflow budget itself.
    return clients.size < maxClients - 1 ? client : OVERFLOW;
  };

  return {
    max,
    windowMs,
    get size() {
      return clients.size;
    },
    retryAfterMs(client, now) {
      const list = recent(keyFor(client, now), now)?.failures ?? [];
      return list.length >= max ? Math.max(1, list[list.length - max]! + windowMs - now) : 0;
    },
    fail(client, now) {
      const key = keyFor(client, now);
      const s = recent(key, now) ?? { failures: [], notAudited: 0 };
      s.failures.push(now);
      if (s.failures.length > max) s.failures.splice(0, s.failures.length - max);
      clients.set(key, s);
      if (s.auditedAt !== undefined && now - s.auditedAt < windowMs) {
        s.notAudited++;
        return undefined;
      }
      const due = { failures: s.failures.length, notAudited: s.notAudited };
      s.auditedAt = now;
      s.notAudited = 0;
      return due;
    },
  };
}
