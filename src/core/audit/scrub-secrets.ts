// promise 7: the audit log never holds a secret. Keys that name a secret are replaced, and any
// string equal to a configured secret is masked wherever it appears.

const SECRET_KEY = /(token|secret|password|passwd|api[_-]?key|service[_-]?key|authorization|hmac|cookie)/i;

export function scrubSecrets<T>(value: T, secrets: ReadonlyArray<string | undefined> = []): T {
  const known = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
  const walk = (v: unknown, key?: string): unknown => {
    if (key !== undefined && SECRET_KEY.test(key) && v !== null && v !== undefined && typeof v !== 'boolean') return '[redacted]';
    if (typeof v === 'string') {
      let out = v;
      for (const s of known) if (out.includes(s)) out = out.split(s).join('[redacted]');
      return out;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = walk(x, k);
      return o;
    }
    return v;
  };
  return walk(value) as T;
}
