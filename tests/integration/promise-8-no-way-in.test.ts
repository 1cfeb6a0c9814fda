// promise 8: no way in without a token. Authentication is decided by the route that matched,
// never by the URL's spelling (tried over real HTTP with raw paths, and through inject());
// every registered route is public on the allow-list below or refuses without a token; failed
// attempts on every route count toward one limiter per client, audited at most once per client
// and window; the client's address comes from X-Forwarded-For only behind a named proxy; the
// audit actor is the token's owner. Also the neighbours on the same edge: security headers and
// error texts without server paths (issue 9, findings 1-4 and 7).
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { type Config, loadConfig } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import { signWahaBody } from '../../src/core/webhooks/index.js';
import { clientKey, createAuthLimiter } from '../../src/server/auth-limiter.js';
import { webhookUrlToken } from '../../src/core/webhooks/index.js';
import { buildServer, normalisedPath } from '../../src/server/build-server.js';
import type { RouteAuth } from '../../src/server/route-auth.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const TOKEN = 'promise-8-token-0123456789abcdef';
const HMAC = 'promise-8-hmac-key-long-enough-not-to-guess';
const auth = { authorization: `Bearer ${TOKEN}` };
const clock = new FakeClock('2026-03-02T12:00:00Z');
let t: TestDatabase;
let ctx: Context;
let config: Config;
let app: FastifyInstance;
let base: string;
const routes: Array<{ method: string; url: string; auth: RouteAuth }> = [];

beforeAll(async () => {
  t = await createTestDatabase({ clock });
  config = { ...t.ctx().config, dashboardApiToken: TOKEN, webhookHmacKey: HMAC, mediaDir: mkdtempSync(join(tmpdir(), 'campaign-p8-media-')), actor: 'ops-from-env' };
  ctx = t.ctx({ config });
  // A limit no spelling test reaches from one address; the limiter has its own tests below.
  app = await buildServer({ ctx, config, authLimit: { max: 100_000 }, onRoute: (r) => routes.push(r) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await app.inject({ method: 'POST', url: '/api/campaigns', headers: auth, payload: { name: 'secret-campaign', brand: 'b', template: { mode: 'simple', type: 'text', text: 'Hi' } } });
});
afterAll(async () => {
  await app?.close();
  await t?.drop();
});

/** One request with the path exactly as given (fetch and inject() may normalise it first). */
function raw(method: string, path: string, options: { headers?: Record<string, string>; body?: string; port?: number } = {}): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: options.port ?? url.port, method, path, headers: { ...(options.body ? { 'content-type': 'application/json' } : {}), ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Spellings of one API path: encoded, case, slashes, dot segments, ;params, double encoding, queries. */
function spellings(rest: string): string[] {
  const first = rest[0]!;
  const enc = (c: string) => `%${c.charCodeAt(0).toString(16)}`;
  return [
    `/%61pi/${rest}`, `/%61%70%69/${rest}`, `/%41PI/${rest}`, `/API/${rest}`, `/Api/${rest}`, `/api/${rest.toUpperCase()}`,
    `//api/${rest}`, `///api/${rest}`, `/api//${rest}`, `/./api/${rest}`, `/api/./${rest}`, `/api/%2e/${rest}`, `/api/%2E/${rest}`,
    `/x/../api/${rest}`, `/x/%2e%2e/api/${rest}`, `/healthz/../api/${rest}`, `/healthz%2f..%2fapi/${rest}`, `/app.js/../api/${rest}`,
    `/api;/${rest}`, `/api;x=1/${rest}`, `/api/${rest};`, `/api/${rest};jsessionid=1`, `/api/${rest}/`, `/api/${rest}//`, `/api/${rest}/.`,
    `/%2561pi/${rest}`, `/%252561pi/${rest}`, `/api%2f${rest}`, `/api%2F${rest}`, `/%2fapi/${rest}`, `/api\\${rest}`, `/api/${rest}%00`,
    `/api/${rest}%20`, `/api/${enc(first)}${rest.slice(1)}`, `/api/${rest}?x=/healthz`, `/api/${rest}?/healthz`, `/api/${rest}%3Fx=/healthz`,
    `/api/${rest}#/healthz`, `/api/${rest}?token=${TOKEN.slice(0, -1)}`, `/api/${rest}.json`,
  ];
}

describe('promise 8: no spelling of a path reaches an API handler without a token', () => {
  it('GET, HEAD, OPTIONS and writes under every spelling: 401 or 404 JSON, never data, never the dashboard page, nothing written', async () => {
    const usersBefore = await t.db.selectFrom('test_users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const settingsBefore = JSON.stringify((await app.inject({ method: 'GET', url: '/api/settings', headers: auth })).json());
    const tried: string[] = [];
    const cases: Array<[string, string, string | undefined]> = [
      ...['campaigns', 'audit', 'settings', 'media/1/file', 'campaigns/1/report.csv', 'events/stream', 'docs'].flatMap((r) => spellings(r).map((p): [string, string, undefined] => ['GET', p, undefined])),
      ...spellings('campaigns').flatMap((p) => ['HEAD', 'OPTIONS', 'DELETE'].map((m): [string, string, undefined] => [m, p, undefined])),
      ...spellings('test-users').map((p): [string, string, string] => ['POST', p, JSON.stringify({ name: 'Mallory', phone: '+243812345678' })]),
      ...spellings('settings').map((p): [string, string, string] => ['PATCH', p, JSON.stringify({ daily_limit: 5 })]),
    ];
    for (const [method, path, body] of cases) {
      const r = await raw(method, path, { body });
      const label = `${method} ${path} → ${r.status} ${r.body.slice(0, 120)}`;
      tried.push(label);
      expect([400, 401, 404], label).toContain(r.status);
      if (method !== 'HEAD') {
        expect(r.type, label).toMatch(/application\/json/);
        expect(JSON.parse(r.body).error.code, label).toMatch(/^(UNAUTHORIZED|NOT_FOUND|USAGE)$/);
      }
      expect(r.body, label).not.toContain('secret-campaign');
      expect(r.body, label).not.toContain('daily_limit');
    }
    // The same spellings through inject(), which takes the URL its own way.
    for (const path of spellings('campaigns')) {
      const r = await app.inject({ method: 'GET', url: path });
      expect([400, 401, 404], `inject GET ${path}`).toContain(r.statusCode);
      expect(r.body, path).not.toContain('secret-campaign');
    }
    const usersAfter = await t.db.selectFrom('test_users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(usersAfter.n)).toBe(Number(usersBefore.n));
    expect(JSON.stringify((await app.inject({ method: 'GET', url: '/api/settings', headers: auth })).json())).toBe(settingsBefore);
    expect(tried.length).toBeGreaterThan(300);
  });

  it('the route decides, not the spelling: /%61pi/campaigns is the campaigns route, so it needs the token and answers with it', async () => {
    expect((await raw('GET', '/%61pi/campaigns')).status).toBe(401);
    const withToken = await raw('GET', '/%61pi/campaigns', { headers: auth });
    expect(withToken.status).toBe(200);
    expect(withToken.body).toContain('secret-campaign');
    expect((await raw('GET', '/api/%63ampaigns')).status).toBe(401);
  });

  it('page paths still get the dashboard; API-like paths never do', async () => {
    const page = await raw('GET', '/campaigns/12');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    for (const path of ['/%61pi/nope', '/API/nope', '/api', '/%61pi', '//api/x', '/x/../api/x', '/api;/x', '/%2561pi/x']) {
      const r = await raw('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.type, path).toMatch(/application\/json/);
    }
    expect(normalisedPath('/%252561PI//x/./../campaigns;x=1?q=/healthz')).toBe('/api/campaigns');
  });
});

/** Every declared public route and what it is; anything else must refuse without a token. */
const PUBLIC_ALLOW_LIST = ['GET /healthz', 'HEAD /healthz', 'GET /', 'HEAD /', 'GET /index.html', 'HEAD /index.html', 'GET /app.js', 'HEAD /app.js', 'GET /app.css', 'HEAD /app.css'];
/** Routes that check their own credential (a wrong one is a 401 counted by the limiter). */
const OWN_AUTH_ROUTES = ['POST /api/auth/login', 'POST /api/webhooks/waha'];

describe('promise 8: every registered route', () => {
  it('is public on the allow-list, or checks its own credential, or refuses without a token (HEAD routes included)', async () => {
    expect(routes.length).toBeGreaterThan(70);
    const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
    expect(routes.filter((r) => r.auth === 'public').map(key).sort()).toEqual([...PUBLIC_ALLOW_LIST].sort());
    expect(routes.filter((r) => r.auth === 'own').map(key).sort()).toEqual([...OWN_AUTH_ROUTES].sort());
    expect(routes.filter((r) => r.auth === 'stream').map(key).sort()).toEqual(['GET /api/events/stream', 'HEAD /api/events/stream']);
    expect(routes.some((r) => r.method === 'HEAD' && r.url === '/api/campaigns')).toBe(true);
    let n = 0;
    for (const r of routes) {
      const url = r.url.replace(/:[A-Za-z]+/g, '1').replace(/\*/g, 'x');
      const remoteAddress = `10.77.${Math.floor(++n / 250)}.${n % 250}`;
      const label = `${r.method} ${url}`;
      if (PUBLIC_ALLOW_LIST.includes(key(r))) {
        expect((await app.inject({ method: r.method as 'GET', url, remoteAddress })).statusCode, label).toBe(200);
        continue;
      }
      const headers = OWN_AUTH_ROUTES.includes(key(r)) ? { 'content-type': 'application/json', 'x-webhook-hmac': 'wrong' } : {};
      const payload = OWN_AUTH_ROUTES.includes(key(r)) ? JSON.stringify({ token: 'wrong', event: 'message' }) : undefined;
      const res = await app.inject({ method: r.method as 'GET', url, remoteAddress, headers, payload });
      expect(res.statusCode, label).toBe(401);
      if (r.method !== 'HEAD') expect(res.json().error.code, label).toBe('UNAUTHORIZED');
    }
  });

  it('a route declaring an unknown kind of authentication stops the server from starting', async () => {
    const { default: Fastify } = await import('fastify');
    const { checkRouteDeclaration } = await import('../../src/server/route-auth.js');
    const probe = Fastify();
    probe.addHook('onRoute', checkRouteDeclaration);
    expect(() => probe.get('/x', { config: { auth: 'pubilc' as never } }, async () => 'x')).toThrow(/declares auth "pubilc"/);
    await probe.close();
  });
});

describe('promise 8: failed attempts are throttled per client on every route, and audited without a flood', () => {
  const failedRows = (client: string) => t.db.selectFrom('admin_activity').selectAll().where('action', '=', 'auth.failed').where('entity_id', '=', client).orderBy('id').execute();

  it('bearer, stream ?token=, login and webhook failures add up; then 429 with Retry-After everywhere, even with the right token (a genuinely signed webhook excepted); another address is unaffected', async () => {
    const limited = await buildServer({ ctx, config, authLimit: { max: 8, windowMs: 60_000 } });
    const ip = '10.8.0.1';
    try {
      const go = (o: InjectOptions) => limited.inject({ remoteAddress: ip, ...o });
      const webhook = JSON.stringify({ id: 'evt_p8', event: 'engine.event', session: 'default', payload: {} });
      const attempts = [
        () => go({ method: 'GET', url: '/api/campaigns' }),
        () => go({ method: 'GET', url: '/api/campaigns', headers: { authorization: 'Bearer nope' } }),
        () => go({ method: 'GET', url: '/%61pi/audit', headers: { authorization: `Bearer ${TOKEN}x` } }),
        () => go({ method: 'GET', url: '/api/events/stream?token=nope' }),
        () => go({ method: 'POST', url: '/api/auth/login', payload: { token: 'nope' } }),
        () => go({ method: 'POST', url: '/api/webhooks/waha', headers: { 'content-type': 'application/json', 'x-webhook-hmac': 'bad' }, payload: webhook }),
        () => go({ method: 'POST', url: '/api/webhooks/waha', headers: { 'content-type': 'application/json' }, payload: webhook }),
        () => go({ method: 'DELETE', url: '/api/media/1', headers: { authorization: 'nope' } }),
      ];
      for (const a of attempts) expect((await a()).statusCode).toBe(401);
      const blocked = [
        await go({ method: 'GET', url: '/api/campaigns', headers: auth }),
        await go({ method: 'GET', url: '/api/events/stream', headers: auth }),
        await go({ method: 'POST', url: '/api/auth/login', payload: { token: TOKEN } }),
        await go({ method: 'POST', url: '/api/webhooks/waha', headers: { 'content-type': 'application/json', 'x-webhook-hmac': 'bad' }, payload: webhook }),
      ];
      for (const r of blocked) {
        expect(r.statusCode, r.body).toBe(429);
        expect(r.json().error.code).toBe('RATE_LIMITED');
        expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
        expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(60);
      }
      // A genuine signed event is still taken from the blocked address (WAHA may share it; an
      // HMAC cannot be guessed): promise 6, nothing received is lost.
      expect((await go({ method: 'POST', url: '/api/webhooks/waha', headers: { 'content-type': 'application/json', 'x-webhook-hmac': signWahaBody(webhook, HMAC) }, payload: webhook })).statusCode).toBe(200);
      // Public routes stay open; another address with the token is served.
      expect((await go({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await limited.inject({ method: 'GET', url: '/api/campaigns', headers: auth, remoteAddress: '10.8.0.2' })).statusCode).toBe(200);
      // Eight failures, one audit row, no credential in it.
      const rows = await failedRows(ip);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ actor: 'anonymous', entity_type: 'client' });
      expect(rows[0]!.details).toMatchObject({ ip, reason: 'bearer-missing', route: 'GET /api/campaigns', failuresInWindow: 1 });
      expect(JSON.stringify(rows)).not.toMatch(/nope|Bearer|promise-8-token/);
    } finally {
      await limited.close();
    }
  });

  it('a blocked client gets 429 from the webhook before any comparison when the secret is short enough to guess (HMAC key or URL token): no oracle', async () => {
    const webhook = JSON.stringify({ id: 'evt_p8_short', event: 'engine.event', session: 'default', payload: {} });
    const shortKey = 'short-hmac-key';
    for (const mode of ['hmac', 'token'] as const) {
      const cfg = mode === 'hmac' ? { ...config, webhookHmacKey: shortKey } : { ...config, webhookHmacKey: undefined, dashboardApiToken: 'short-dash-token' };
      const limited = await buildServer({ ctx: t.ctx({ config: cfg }), config: cfg, authLimit: { max: 2, windowMs: 60_000 } });
      try {
        const ip = mode === 'hmac' ? '10.8.1.1' : '10.8.1.2';
        const url = mode === 'token' ? `/api/webhooks/waha?token=${webhookUrlToken('short-dash-token')}` : '/api/webhooks/waha';
        for (let i = 0; i < 3; i++) {
          await limited.inject({ method: 'POST', url: '/api/webhooks/waha?token=nope', remoteAddress: ip, headers: { 'content-type': 'application/json', 'x-webhook-hmac': 'bad' }, payload: webhook });
        }
        const right = await limited.inject({
          method: 'POST', url, remoteAddress: ip, payload: webhook,
          headers: { 'content-type': 'application/json', ...(mode === 'hmac' ? { 'x-webhook-hmac': signWahaBody(webhook, shortKey) } : {}) },
        });
        expect(right.statusCode, `${mode}: ${right.body}`).toBe(429);
      } finally {
        await limited.close();
      }
    }
  });

  it('200 wrong tokens in parallel from one client: 429s, one audit row; the next window writes one row counting the rest', async () => {
    const windowMs = 1500;
    const limited = await buildServer({ ctx, config, authLimit: { max: 10, windowMs } });
    const ip = '10.9.0.1';
    try {
      const flood = await Promise.all(Array.from({ length: 200 }, (_, i) => limited.inject({ method: 'GET', url: '/api/campaigns', headers: { authorization: `Bearer guess-${i}` }, remoteAddress: ip })));
      const statuses = flood.map((r) => r.statusCode);
      expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(190);
      expect(await failedRows(ip)).toHaveLength(1);
      await new Promise((r) => setTimeout(r, windowMs + 100));
      expect((await limited.inject({ method: 'GET', url: '/api/campaigns', headers: { authorization: 'Bearer again' }, remoteAddress: ip })).statusCode).toBe(401);
      const rows = await failedRows(ip);
      expect(rows).toHaveLength(2);
      expect((rows[1]!.details as { notAuditedBefore: number }).notAuditedBefore).toBe(statuses.filter((s) => s === 401).length - 1);
      expect(rows[1]!.summary).toMatch(/earlier failures? from this client had no row/);
      expect(JSON.stringify(rows)).not.toContain('guess-');
    } finally {
      await limited.close();
    }
  });

  it('the limiter is bounded in memory, counts IPv6 clients per /64, fails closed when full (rotating addresses buys no tries and no audit rows), and forgets after the window', () => {
    const l = createAuthLimiter({ max: 3, windowMs: 1000, maxClients: 100 });
    for (let i = 0; i < 5000; i++) l.fail(`10.1.${Math.floor(i / 250)}.${i % 250}`, 0);
    expect(l.size).toBeLessThanOrEqual(100);
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:0db8:0001:0002:ffff:1:2:3'));
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    for (let i = 0; i < 3; i++) l.fail('2001:db8:1:2::1', 100);
    expect(l.retryAfterMs('2001:db8:1:2::1', 200)).toBe(900);
    // The map is full of recent failures: every new client shares the overflow budget, now spent.
    expect(l.retryAfterMs('2001:db8:1:3::1', 200)).toBe(900);
    expect(l.retryAfterMs('2001:db8:1:2::1', 1100)).toBe(0);
    expect(l.retryAfterMs('2001:db8:1:3::1', 1100)).toBe(0);

    // Cycling through 65,536 /64s of one /48: at most maxClients audit rows and max tries each.
    const r = createAuthLimiter({ max: 3, windowMs: 60_000, maxClients: 100 });
    let audited = 0;
    let allowed = 0;
    for (let i = 0; i < 65_536; i++) {
      const ip = `2001:db8:77:${i.toString(16)}::1`;
      if (r.retryAfterMs(clientKey(ip), 5) === 0) allowed++;
      if (r.fail(clientKey(ip), 5)) audited++;
    }
    expect(r.size).toBeLessThanOrEqual(100);
    expect(audited).toBeLessThanOrEqual(100);
    expect(allowed).toBeLessThanOrEqual(99 + 3);
  });
});

describe('promise 8: the client address comes from a proxy only when one is configured as trusted', () => {
  it('by default a forged X-Forwarded-For changes neither the limiter nor the audit row', async () => {
    const direct = await buildServer({ ctx, config, authLimit: { max: 3, windowMs: 60_000 } });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await direct.inject({ method: 'GET', url: '/api/audit', headers: { authorization: 'Bearer x', 'x-forwarded-for': `198.51.100.${i}` }, remoteAddress: '10.10.0.1' });
        expect(r.statusCode).toBe(401);
      }
      // Rotating the header does not buy fresh tries, and cannot lock out the address it names.
      expect((await direct.inject({ method: 'GET', url: '/api/audit', headers: { ...auth, 'x-forwarded-for': '198.51.100.99' }, remoteAddress: '10.10.0.1' })).statusCode).toBe(429);
      expect((await direct.inject({ method: 'GET', url: '/api/audit', headers: auth, remoteAddress: '198.51.100.0' })).statusCode).toBe(200);
      const rows = await t.db.selectFrom('admin_activity').selectAll().where('action', '=', 'auth.failed').where('entity_id', 'in', ['10.10.0.1', '198.51.100.0', '198.51.100.1']).execute();
      expect(rows.map((r) => r.entity_id)).toEqual(['10.10.0.1']);
      expect(JSON.stringify(rows)).not.toContain('198.51.100');
    } finally {
      await direct.close();
    }
  });

  it('with TRUST_PROXY naming the proxy, its X-Forwarded-For is the client; anyone else\'s header is still ignored', async () => {
    const proxied = { ...config, trustProxy: loadConfig({ env: { TRUST_PROXY: '10.11.0.1, 10.12.0.0/16' }, cwd: '/' }).trustProxy };
    expect(proxied.trustProxy).toEqual(['10.11.0.1', '10.12.0.0/16']);
    const behind = await buildServer({ ctx, config: proxied, authLimit: { max: 2, windowMs: 60_000 } });
    try {
      const viaProxy = (client: string, proxy = '10.11.0.1', token = 'Bearer x') =>
        behind.inject({ method: 'GET', url: '/api/campaigns', headers: { authorization: token, 'x-forwarded-for': client }, remoteAddress: proxy });
      expect((await viaProxy('203.0.113.7')).statusCode).toBe(401);
      expect((await viaProxy('203.0.113.7', '10.12.5.5')).statusCode).toBe(401);
      expect((await viaProxy('203.0.113.7', '10.11.0.1', `Bearer ${TOKEN}`)).statusCode).toBe(429);
      // Another client behind the same proxy is not blocked.
      expect((await viaProxy('203.0.113.8', '10.11.0.1', `Bearer ${TOKEN}`)).statusCode).toBe(200);
      // Not from the proxy: the header is ignored, the socket's address counts.
      expect((await viaProxy('203.0.113.9', '10.13.0.1')).statusCode).toBe(401);
      const rows = await t.db.selectFrom('admin_activity').selectAll().where('action', '=', 'auth.failed').where('entity_id', 'in', ['203.0.113.7', '10.13.0.1', '203.0.113.9']).orderBy('id').execute();
      expect(rows.map((r) => r.entity_id)).toEqual(['203.0.113.7', '10.13.0.1']);
    } finally {
      await behind.close();
    }
  });

  it('TRUST_PROXY is parsed with clear errors: no true, no hop count, only addresses and ranges', () => {
    const parse = (v: string) => loadConfig({ env: { TRUST_PROXY: v }, cwd: '/' }).trustProxy;
    expect(parse('')).toBeUndefined();
    expect(parse('false')).toBeUndefined();
    expect(parse('loopback,::1,fd00::/8')).toEqual(['loopback', '::1', 'fd00::/8']);
    for (const [v, msg] of [['true', /must not be true/], ['1', /hop count/], ['proxy.local', /"proxy.local"/], ['10.0.0.0/33', /"10.0.0.0\/33"/]] as const) {
      expect(() => parse(v), v).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(msg) }));
      expect(() => parse(v), v).toThrow(/TRUST_PROXY/);
    }
  });
});

describe('promise 7: the audit actor is the token\'s owner', () => {
  it('X-Actor is never the actor: a failed login names nobody, an authenticated call is "dashboard (as …)", CAMPAIGN_ACTOR does not apply', async () => {
    const failed = await app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'x-actor': 'mallory' }, payload: { token: 'wrong' }, remoteAddress: '10.14.0.1' });
    expect(failed.statusCode).toBe(401);
    const rows = await t.db.selectFrom('admin_activity').selectAll().where('entity_id', '=', '10.14.0.1').execute();
    expect(rows.map((r) => r.actor)).toEqual(['anonymous']);
    expect(JSON.stringify(rows)).not.toContain('mallory');

    const ok = await app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'x-actor': 'Asha K' }, payload: { token: TOKEN } });
    expect(ok.json()).toMatchObject({ ok: true, actor: 'dashboard (as "Asha K")' });
    const plain = await app.inject({ method: 'POST', url: '/api/settings/preset', headers: auth, payload: { name: 'warm' } });
    expect(plain.statusCode).toBe(200);
    const forged = await app.inject({ method: 'POST', url: '/api/settings/preset', headers: { ...auth, 'x-actor': 'x") (as "admin' }, payload: { name: 'cold' } });
    expect(forged.statusCode).toBe(200);
    const actors = (await t.db.selectFrom('admin_activity').select(['actor', 'action']).where((eb) => eb.or([eb('action', '=', 'auth.login'), eb('action', 'like', 'settings.preset.%')])).orderBy('id').execute()).map((r) => r.actor);
    expect(actors).toEqual(['dashboard (as "Asha K")', 'dashboard', 'dashboard']);
    expect(actors).not.toContain('ops-from-env');
  });
});

describe('promise 8 neighbours: security headers and error texts', () => {
  it('every response carries the CSP (no inline script), frame-ancestors none, DENY, nosniff and a referrer policy', async () => {
    for (const [path, headers] of [['/', {}], ['/app.js', {}], ['/api/campaigns', {}], ['/api/campaigns', auth], ['/%61pi/nope', {}], ['/healthz', {}]] as const) {
      const r = await raw('GET', path, { headers });
      const csp = String(r.headers['content-security-policy']);
      expect(csp, path).toMatch(/default-src 'self'/);
      expect(csp, path).toMatch(/script-src 'self'(;|$)/);
      expect(csp, path).toMatch(/frame-ancestors 'none'/);
      expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(r.headers['x-frame-options'], path).toBe('DENY');
      expect(r.headers['x-content-type-options'], path).toBe('nosniff');
      expect(r.headers['referrer-policy'], path).toBe('no-referrer');
    }
  });

  it('an upload error names the uploaded file, never the server\'s temp folder; an unexpected error says nothing of the server', async () => {
    const boundary = '----p8';
    const body = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="empty.png"\r\nContent-Type: image/png\r\n\r\n\r\n--${boundary}--\r\n`);
    const r = await app.inject({ method: 'POST', url: '/api/media', headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: body });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.message).toMatch(/^empty\.png is empty/);
    expect(r.body).not.toContain(tmpdir());
    expect(r.body).not.toContain('campaign-upload-');

    const { errorBody } = await import('../../src/server/http-errors.js');
    const { CampaignError, toCampaignError } = await import('../../src/core/errors.js');
    const internal = errorBody(toCampaignError(new Error(`ENOENT: no such file or directory, open '${join(tmpdir(), 'x', 'y.png')}'`)));
    expect(JSON.stringify(internal)).not.toContain(tmpdir());
    expect(internal.error.code).toBe('INTERNAL');
    const known = errorBody(new CampaignError('FILE_UNREADABLE', `Cannot read ${join(config.mediaDir, 'a.png')}: gone.`, { path: join(config.mediaDir, 'a.png') }), [config.mediaDir]);
    expect(JSON.stringify(known)).not.toContain(config.mediaDir);
    expect(known.error.message).toBe('Cannot read [server path]: gone.');
  });
});
