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
// In memory and bounded: at most `maxClients` addresses (the least recently failing go first),
// at most `max` timestamps each. IPv6 clients count per /64, the block one host usually holds.
// A restart forgets, which is acceptable for one server process guarding one token.
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

export function createAuthLimiter(options: AuthLimiterOptions = {}): AuthLimiter {
  const max = options.max ?? 10;
  const windowMs = options.windowMs ?? 5 * 60_000;
  const maxClients = options.maxClients ?? 10_000;
  const clients = new Map<string, ClientState>();

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

  return {
    max,
    windowMs,
    get size() {
      return clients.size;
    },
    retryAfterMs(client, now) {
      const list = recent(client, now)?.failures ?? [];
      return list.length >= max ? Math.max(1, list[list.length - max]! + windowMs - now) : 0;
    },
    fail(client, now) {
      const s = recent(client, now) ?? { failures: [], notAudited: 0 };
      s.failures.push(now);
      if (s.failures.length > max) s.failures.splice(0, s.failures.length - max);
      // Most recently failing last, so the bound drops the quietest client first.
      clients.delete(client);
      clients.set(client, s);
      while (clients.size > maxClients) clients.delete(clients.keys().next().value!);
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
