// The JSON API through buildServer().inject() on real Postgres: authentication on every route,
// the login's audit and the failure brake (its neighbours: tests/integration/promise-8-no-way-in.test.ts), the error catalogue's HTTP statuses, and a campaign's
// life driven through the API exactly as through the CLI (the same core calls, the same results).
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import type { Config } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { buildServer, redactUrl } from '../../src/server/build-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const TOKEN = 'api-test-token-abcdefghijklmnop';
const auth = { authorization: `Bearer ${TOKEN}` };
const clock = new FakeClock('2026-03-02T12:00:00Z');
let t: TestDatabase;
let ctx: Context;
let config: Config;
let app: FastifyInstance;

beforeAll(async () => {
  t = await createTestDatabase({ clock });
  config = { ...t.ctx().config, dashboardApiToken: TOKEN, webhookHmacKey: 'k', mediaDir: mkdtempSync(join(tmpdir(), 'campaign-api-media-')) };
  ctx = t.ctx({ config });
  app = await buildServer({ ctx, config, authLimit: { max: 5, windowMs: 300_000 } });
});
afterAll(async () => {
  await app?.close();
  await t?.drop();
});

/** Every route of the API contract (README, "Dashboard and API"), with a sample URL. */
const ROUTES: Array<[string, string]> = [
  ['GET', '/api/overview'], ['GET', '/api/health'], ['GET', '/api/sessions'], ['GET', '/api/running'],
  ['GET', '/api/campaigns'], ['POST', '/api/campaigns'], ['GET', '/api/campaigns/1'], ['PUT', '/api/campaigns/1'], ['DELETE', '/api/campaigns/1'],
  ...['approve', 'duplicate', 'archive', 'start', 'pause', 'resume', 'cancel', 'resolve', 'queue/build'].map((v): [string, string] => ['POST', `/api/campaigns/1/${v}`]),
  ['GET', '/api/campaigns/1/queue'], ['GET', '/api/campaigns/1/exclusions'], ['GET', '/api/campaigns/1/forecast'],
  ['GET', '/api/campaigns/1/report.csv'], ['GET', '/api/campaigns/1/report.json'],
  ['GET', '/api/templates/samples'], ['POST', '/api/templates/validate'], ['POST', '/api/templates/render'], ['POST', '/api/templates/send-test'],
  ['GET', '/api/test-users'], ['POST', '/api/test-users'], ['PATCH', '/api/test-users/1'], ['DELETE', '/api/test-users/1'],
  ['POST', '/api/test-users/1/activate'], ['POST', '/api/test-users/1/deactivate'],
  ['GET', '/api/test-lists'], ['POST', '/api/test-lists'], ['GET', '/api/test-lists/1'], ['DELETE', '/api/test-lists/1'],
  ['POST', '/api/test-lists/1/members'], ['POST', '/api/test-lists/1/members/remove'],
  ['GET', '/api/test-runs'], ['POST', '/api/test-runs'], ['GET', '/api/test-runs/1'], ['POST', '/api/test-runs/1/pause'], ['POST', '/api/test-runs/1/resume'],
  ['POST', '/api/test-runs/1/cancel'], ['GET', '/api/test-runs/1/report.csv'], ['GET', '/api/test-runs/1/report.json'],
  ['GET', '/api/contacts'], ['GET', '/api/contacts/summary'], ['GET', '/api/contacts/1'],
  ...['suppress', 'unsuppress', 'opt-out', 'opt-in'].map((v): [string, string] => ['POST', `/api/contacts/1/${v}`]),
  ['GET', '/api/audience/brands'], ['GET', '/api/audience/preview?brand=x'], ['POST', '/api/audience/import'],
  ['POST', '/api/media'], ['GET', '/api/media'], ['GET', '/api/media/1'], ['GET', '/api/media/1/file'], ['DELETE', '/api/media/1'],
  ['GET', '/api/settings'], ['PATCH', '/api/settings'], ['POST', '/api/settings/preset'],
  ['GET', '/api/worker-events'], ['GET', '/api/audit'], ['GET', '/api/notifications'], ['POST', '/api/notifications/1/read'],
  ['GET', '/api/events/stream'], ['GET', '/api/docs'],
];

describe('authentication', () => {
  it('every /api route without a token, with a wrong one, or with a near miss → 401 and no effect', async () => {
    const before = await t.db.selectFrom('admin_activity').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    let client = 0;
    for (const [method, url] of ROUTES) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, { authorization: TOKEN }]) {
        // One address per attempt: the failure limiter would answer 429 after five from one.
        const remoteAddress = `10.200.${Math.floor(++client / 250)}.${client % 250}`;
        const r = await app.inject({ method: method as 'GET', url, remoteAddress, headers: { ...headers, 'content-type': 'application/json' }, payload: method === 'GET' || method === 'DELETE' ? undefined : '{}' });
        expect(r.statusCode, `${method} ${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(r.json().error.code).toBe('UNAUTHORIZED');
      }
    }
    // ?token= works for the live stream only (EventSource cannot set headers).
    expect((await app.inject({ method: 'GET', url: `/api/settings?token=${TOKEN}`, remoteAddress: '10.201.0.1' })).statusCode).toBe(401);
    // No effect: the only rows are the failures' own (one per client and window, never a token).
    const rows = await t.db.selectFrom('admin_activity').selectAll().where('id', '>', Number(before.n)).execute();
    expect(new Set(rows.map((r) => r.action))).toEqual(new Set(['auth.failed']));
    expect(rows).toHaveLength(client + 1);
    expect(JSON.stringify(rows)).not.toContain(TOKEN.slice(0, -1));
  });

  it('/healthz is open and says nothing else; unknown API paths are 404 JSON behind auth', async () => {
    const r = await app.inject({ method: 'GET', url: '/healthz' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ ok: true });
    const nf = await app.inject({ method: 'GET', url: '/api/nope', headers: auth });
    expect(nf.statusCode).toBe(404);
    expect(nf.json().error.code).toBe('NOT_FOUND');
  });

  it('login: success and failure are audited (never the token); 5 failures from one address → 429, the sixth not even compared', async () => {
    const ok = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { token: TOKEN }, remoteAddress: '10.0.0.1' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ ok: true });
    for (let i = 0; i < 5; i++) {
      const bad = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { token: `guess-${i}` }, remoteAddress: '10.0.0.2' });
      expect(bad.statusCode).toBe(401);
    }
    const blocked = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { token: TOKEN }, remoteAddress: '10.0.0.2' });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().error.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { token: TOKEN }, remoteAddress: '10.0.0.3' })).statusCode).toBe(200);
    const rows = (await t.db.selectFrom('admin_activity').selectAll().where('action', 'like', 'auth.%').orderBy('id').execute()).filter((r) => /10\.0\.0\.[123]\b/.test(r.summary));
    expect(rows.filter((r) => r.action === 'auth.login').map((r) => r.actor)).toEqual(['dashboard', 'dashboard']);
    // Five failures, one row: the audit is rate-limited per client (the count is in the next row).
    const failed = rows.filter((r) => r.action === 'auth.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ actor: 'anonymous', entity_type: 'client', entity_id: '10.0.0.2' });
    expect(failed[0]!.summary).toContain('10.0.0.2');
    expect(JSON.stringify(rows)).not.toContain(TOKEN);
    expect(JSON.stringify(rows)).not.toContain('guess-');
  });

  it('tokens in URLs are redacted from logs', () => {
    expect(redactUrl(`/api/events/stream?token=${TOKEN}&x=1`)).toBe('/api/events/stream?token=[Redacted]&x=1');
    expect(redactUrl('/api/webhooks/waha?token=abc')).not.toContain('abc');
  });
});

describe('errors map to the catalogue', () => {
  it('404 not found, 409 wrong state, 422 invalid body, 400 malformed JSON and bad query', async () => {
    const nf = await app.inject({ method: 'GET', url: '/api/campaigns/999999', headers: auth });
    expect(nf.statusCode).toBe(404);
    expect(nf.json().error).toMatchObject({ code: 'CAMPAIGN_NOT_FOUND' });
    expect(typeof nf.json().error.message).toBe('string');

    const invalid = await app.inject({ method: 'POST', url: '/api/campaigns', headers: auth, payload: { brand: 'b', template: { mode: 'simple', type: 'text' } } });
    expect(invalid.statusCode).toBe(422);
    expect(invalid.json().error.code).toBe('TEMPLATE_INVALID');
    expect(invalid.json().error.details).toBeDefined();

    const malformed = await app.inject({ method: 'POST', url: '/api/campaigns', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"brand":' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('USAGE');

    const badQuery = await app.inject({ method: 'GET', url: '/api/campaigns?status=FLYING', headers: auth });
    expect(badQuery.statusCode).toBe(400);
    expect(badQuery.json().error.message).toMatch(/DRAFT/);

    const { json } = await app.inject({ method: 'POST', url: '/api/campaigns', headers: auth, payload: { name: 'errs', brand: 'b', template: { mode: 'simple', type: 'text', text: 'Hi' } } });
    const id = json().campaign.id;
    const start = await app.inject({ method: 'POST', url: `/api/campaigns/${id}/start`, headers: auth, payload: {} });
    expect(start.statusCode).toBe(409);
    expect(start.json().error.code).toBe('INVALID_TRANSITION');
  });

  it('settings: a broken rule → 422 with the very message the CLI prints; a good change is audited', async () => {
    const patch = { daily_limit: 10, hourly_limit: 20 };
    const r = await app.inject({ method: 'PATCH', url: '/api/settings', headers: auth, payload: patch });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.code).toBe('SETTINGS_INVALID');
    const cli = await updateSettings(ctx, patch).catch((e) => e);
    expect(r.json().error.message).toBe(cli.message);
    const unknown = await app.inject({ method: 'PATCH', url: '/api/settings', headers: auth, payload: { daily_limt: 10 } });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().error.message).toMatch(/did you mean daily_limit/);

    // promise 7: the actor is the token's owner; X-Actor only adds a display name, after the token checked.
    const good = await app.inject({ method: 'PATCH', url: '/api/settings', headers: { ...auth, 'x-actor': 'asha' }, payload: { daily_limit: 40 } });
    expect(good.statusCode).toBe(200);
    expect(good.json().changes).toEqual([{ key: 'daily_limit', before: 30, after: 40 }]);
    const audit = await app.inject({ method: 'GET', url: '/api/audit?action=settings.update', headers: auth });
    expect(audit.json().activity[0]).toMatchObject({ actor: 'dashboard (as "asha")', action: 'settings.update' });
    const preset = await app.inject({ method: 'POST', url: '/api/settings/preset', headers: auth, payload: { name: 'cold' } });
    expect(preset.statusCode).toBe(200);
    expect(preset.json().preset).toBe('cold');
  });
});

describe('a campaign through the API', () => {
  it('create → approve → queue build → start → pause, then the report streams as CSV and JSON', async () => {
    for (let i = 0; i < 3; i++) {
      await t.db
        .insertInto('contacts')
        .values({ crm_id: `api-${i}`, name: `P${i}`, first_name: `P${i}`, phone_raw: `+24381000000${i}`, chat_id: `24381000000${i}@c.us`, phone_valid: true, brand: 'apibrand', registered_brands: ['apibrand'] })
        .execute();
    }
    const created = await app.inject({ method: 'POST', url: '/api/campaigns', headers: auth, payload: { name: 'API walk', brand: 'apibrand', template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } } });
    expect(created.statusCode).toBe(201);
    const id = created.json().campaign.id;
    expect(created.json().campaign.status).toBe('DRAFT');

    const edited = await app.inject({ method: 'PUT', url: `/api/campaigns/${id}`, headers: auth, payload: { name: 'API walk', brand: 'apibrand', template: { mode: 'simple', type: 'text', text: 'Hello {{first_name}}' } } });
    expect(edited.statusCode).toBe(200);

    const approved = await app.inject({ method: 'POST', url: `/api/campaigns/${id}/approve`, headers: auth });
    expect(approved.json().campaign.status).toBe('APPROVED');
    const frozen = await app.inject({ method: 'PUT', url: `/api/campaigns/${id}`, headers: auth, payload: { name: 'API walk', brand: 'apibrand', template: { mode: 'simple', type: 'text', text: 'Changed' } } });
    expect(frozen.statusCode).toBe(409);

    const built = await app.inject({ method: 'POST', url: `/api/campaigns/${id}/queue/build`, headers: auth });
    expect(built.json()).toMatchObject({ queued: 3 });
    expect((await app.inject({ method: 'GET', url: `/api/campaigns/${id}/queue`, headers: auth })).json()).toMatchObject({ total: 3 });
    expect((await app.inject({ method: 'GET', url: `/api/campaigns/${id}/exclusions`, headers: auth })).json()).toMatchObject({ total: 0 });
    expect((await app.inject({ method: 'GET', url: `/api/campaigns/${id}/forecast`, headers: auth })).statusCode).toBe(200);

    const started = await app.inject({ method: 'POST', url: `/api/campaigns/${id}/start`, headers: auth, payload: {} });
    expect(started.json().status).toBe('RUNNING');
    const running = await app.inject({ method: 'GET', url: '/api/running', headers: auth });
    expect(running.json().items.map((i: { id: number }) => i.id)).toContain(id);
    const paused = await app.inject({ method: 'POST', url: `/api/campaigns/${id}/pause`, headers: auth, payload: { reason: 'checking the copy' } });
    expect(paused.json()).toMatchObject({ status: 'PAUSED', pauseReason: 'checking the copy' });

    const list = await app.inject({ method: 'GET', url: '/api/campaigns?status=PAUSED', headers: auth });
    expect(list.json().campaigns.map((c: { id: number }) => c.id)).toEqual([id]);

    const csv = await app.inject({ method: 'GET', url: `/api/campaigns/${id}/report.csv`, headers: auth });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/campaign-\d+-report\.csv/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toMatch(/^id,name,chat_id/);
    expect(lines.filter((l) => l.includes('@c.us'))).toHaveLength(3);
    const json = await app.inject({ method: 'GET', url: `/api/campaigns/${id}/report.json`, headers: auth });
    expect(json.json().recipients).toHaveLength(3);
    expect((await app.inject({ method: 'GET', url: '/api/campaigns/424242/report.csv', headers: auth })).statusCode).toBe(404);

    const audit = await app.inject({ method: 'GET', url: `/api/audit?campaign=${id}`, headers: auth });
    expect(audit.json().activity.map((a: { action: string }) => a.action)).toEqual(expect.arrayContaining(['campaign.approve', 'campaign.pause']));
    const contact = await app.inject({ method: 'POST', url: '/api/contacts/+243810000000/opt-out', headers: auth, payload: {} });
    expect(contact.json()).toMatchObject({ action: 'opt_out', changed: true, skippedRows: 1 });
  });

  it('templates: samples, validate and render answer what the CLI answers', async () => {
    const samples = await app.inject({ method: 'GET', url: '/api/templates/samples', headers: auth });
    expect(samples.json().samples.map((s: { name: string }) => s.name)).toContain('text_basic');
    const v = await app.inject({ method: 'POST', url: '/api/templates/validate', headers: auth, payload: { template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } } });
    expect(v.json()).toMatchObject({ valid: true, endpoint: '/api/sendText', variables: ['first_name'] });
    const r = await app.inject({ method: 'POST', url: '/api/templates/render', headers: auth, payload: { template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' }, vars: { first_name: 'Asha' } } });
    expect(r.json().payload.text).toBe('Hi Asha');
    const bad = await app.inject({ method: 'POST', url: '/api/templates/validate', headers: auth, payload: { template: { mode: 'simple', type: 'carousel' } } });
    expect(bad.statusCode).toBe(422);
  });

  it('test users and lists, and a test run with its report', async () => {
    const u = await app.inject({ method: 'POST', url: '/api/test-users', headers: auth, payload: { name: 'Asha', phone: '+919876543210' } });
    expect(u.statusCode).toBe(201);
    const l = await app.inject({ method: 'POST', url: '/api/test-lists', headers: auth, payload: { name: 'QA' } });
    const listId = l.json().list.id;
    const m = await app.inject({ method: 'POST', url: `/api/test-lists/${listId}/members`, headers: auth, payload: { users: ['Asha'] } });
    expect(m.json().changed).toHaveLength(1);
    const c = await app.inject({ method: 'POST', url: '/api/campaigns', headers: auth, payload: { name: 'TR', brand: 'apibrand', template: { mode: 'simple', type: 'text', text: 'Test' } } });
    const run = await app.inject({ method: 'POST', url: '/api/test-runs', headers: auth, payload: { campaign: c.json().campaign.id, list: 'QA' } });
    expect(run.statusCode).toBe(201);
    const runId = run.json().testRun.id;
    expect((await app.inject({ method: 'GET', url: `/api/test-runs?campaign=${c.json().campaign.id}`, headers: auth })).json().testRuns).toHaveLength(1);
    const rep = await app.inject({ method: 'GET', url: `/api/test-runs/${runId}/report.csv`, headers: auth });
    expect(rep.body).toContain('919876543210@c.us');
    expect((await app.inject({ method: 'POST', url: `/api/test-runs/${runId}/cancel`, headers: auth, payload: {} })).json().testRun.status).toBe('CANCELLED');
  });
});

function multipart(parts: Array<{ name: string; filename?: string; content: Buffer | string; type?: string }>) {
  const boundary = `----campaigntest${Date.now()}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`));
    chunks.push(Buffer.isBuffer(p.content) ? p.content : Buffer.from(p.content));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from('IHDR', 'latin1'), Buffer.alloc(240, 0x11)]);

describe('media', () => {
  it('multipart upload keeps the file name, serves the file back, and refuses names with ../', async () => {
    const up = await app.inject({ method: 'POST', url: '/api/media', ...multipart([{ name: 'name', content: 'Logo' }, { name: 'file', filename: 'logo.png', content: PNG, type: 'image/png' }]) });
    expect(up.statusCode).toBe(201);
    const asset = up.json().asset;
    expect(asset).toMatchObject({ name: 'Logo', kind: 'image', mimetype: 'image/png', originalFilename: 'logo.png' });
    const again = await app.inject({ method: 'POST', url: '/api/media', ...multipart([{ name: 'file', filename: 'copy.png', content: PNG }]) });
    expect(again.statusCode).toBe(200);
    expect(again.json().created).toBe(false);

    const file = await app.inject({ method: 'GET', url: `/api/media/${asset.id}/file`, headers: auth });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('image/png');
    expect(file.rawPayload.equals(PNG)).toBe(true);
    expect((await app.inject({ method: 'GET', url: '/api/media', headers: auth })).json().assets).toHaveLength(1);

    for (const filename of ['../../etc/passwd.png', '..\\evil.png', 'a/b.png']) {
      const r = await app.inject({ method: 'POST', url: '/api/media', ...multipart([{ name: 'file', filename, content: PNG }]) });
      expect(r.statusCode, filename).toBe(422);
      expect(r.json().error.message).toMatch(/plain file name/);
    }
    const badName = await app.inject({ method: 'POST', url: '/api/media', ...multipart([{ name: 'name', content: '../x' }, { name: 'file', filename: 'ok.png', content: PNG }]) });
    expect(badName.statusCode).toBe(422);
    const notMultipart = await app.inject({ method: 'POST', url: '/api/media', headers: auth, payload: { file: 'x' } });
    expect(notMultipart.statusCode).toBe(400);

    expect((await app.inject({ method: 'DELETE', url: `/api/media/${asset.id}`, headers: auth })).json().deleted.id).toBe(asset.id);
    expect((await app.inject({ method: 'GET', url: `/api/media/${asset.id}`, headers: auth })).statusCode).toBe(404);
  });
});

describe('live stream and docs', () => {
  it('GET /api/events/stream sends a summary and workers at once, then new worker events; ?token= is accepted', async () => {
    const live = await buildServer({ ctx, config, stream: { pollMs: 50, summaryMs: 50 } });
    await live.listen({ port: 0, host: '127.0.0.1' });
    const port = (live.server.address() as { port: number }).port;
    const controller = new AbortController();
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/events/stream?token=${TOKEN}`, { signal: controller.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      const reader = res.body!.getReader();
      let text = '';
      const readUntil = async (needle: string) => {
        const deadline = Date.now() + 5000;
        while (!text.includes(needle) && Date.now() < deadline) {
          const { value, done } = await reader.read();
          if (done) break;
          text += Buffer.from(value).toString('utf8');
        }
        return text.includes(needle);
      };
      expect(await readUntil('event: summary')).toBe(true);
      expect(await readUntil('event: workers')).toBe(true);
      await new Promise((r) => setTimeout(r, 150));
      await t.db.insertInto('worker_events').values({ event: 'idle', worker: 'w-sse', reason: 'nothing to send', details: JSON.stringify({}) }).execute();
      expect(await readUntil('"worker":"w-sse"')).toBe(true);
      await t.db.insertInto('notifications').values({ level: 'warning', kind: 'test', title: 'sse-note', body: null, campaign_id: null, test_run_id: null }).execute();
      expect(await readUntil('sse-note')).toBe(true);
    } finally {
      controller.abort();
      await live.close();
    }
  });

  it('GET /api/docs is the README as markdown', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/docs', headers: auth });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/markdown/);
    expect(r.body).toMatch(/campaign/i);
  });
});

describe('media names (issue 5: names with ../ rejected)', () => {
  it('a file name or name field with ../, /, \\ or NUL is VALIDATION_FAILED naming the field, and nothing is stored', async () => {
    const before = (await app.inject({ method: 'GET', url: '/api/media', headers: auth })).json().assets.length;
    const filesBefore = readdirSync(config.mediaDir).sort();
    const cases: Array<[Array<{ name: string; filename?: string; content: Buffer | string }>, string]> = [
      [[{ name: 'file', filename: '../../etc/passwd', content: PNG }], 'filename'],
      [[{ name: 'file', filename: 'dir\\..\\x.png', content: PNG }], 'filename'],
      [[{ name: 'file', filename: 'x\u0000.png', content: PNG }], 'filename'],
      [[{ name: 'name', content: '../x' }, { name: 'file', filename: 'ok.png', content: PNG }], 'name'],
      [[{ name: 'name', content: 'a/b' }, { name: 'file', filename: 'ok.png', content: PNG }], 'name'],
      [[{ name: 'name', content: 'a\u0000b' }, { name: 'file', filename: 'ok.png', content: PNG }], 'name'],
      [[{ name: 'file', filename: 'ok.png', content: PNG }, { name: 'name', content: '..\\x' }], 'name'],
    ];
    for (const [parts, field] of cases) {
      const r = await app.inject({ method: 'POST', url: '/api/media', ...multipart(parts) });
      const label = JSON.stringify(parts.map((p) => p.filename ?? p.content.toString()));
      expect(r.statusCode, label).toBe(422);
      expect(r.json().error.code, label).toBe('VALIDATION_FAILED');
      expect(r.json().error.details.issues, label).toEqual([expect.objectContaining({ path: field })]);
      expect(r.json().error.message, label).toMatch(new RegExp(`${field}: must be a plain file name`));
    }
    expect((await app.inject({ method: 'GET', url: '/api/media', headers: auth })).json().assets).toHaveLength(before);
    expect(readdirSync(config.mediaDir).sort()).toEqual(filesBefore);
  });
});
