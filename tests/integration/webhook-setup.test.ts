// `campaign webhook setup` against the sandbox, on every engine (issue 9, finding 14): the session
// gets each event the receiver needs once (message.any, not message as well: every inbound would
// arrive twice), WEBJS gets `config.webjs.tagsEventsOn` (no message.ack without it, contract §7.7),
// and everything else the operator configured stays. The PUT body must be one WAHA's OpenAPI
// accepts, and the sandbox's PUT /api/sessions/{session} refuses what WAHA's validation refuses.
// Then through real HTTP: WAHA (the sandbox) → `campaign serve` → one reply per inbound.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config.js';
import { createWahaSessionConfigClient, setupWebhook, showWebhook, WEBHOOK_EVENTS } from '../../src/core/webhooks/index.js';
import { ENGINES, type Engine } from '../../src/sandbox/engine-shapes.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { buildServer } from '../../src/server/build-server.js';
import { drcContact, startedCampaign } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const Ajv2020 = ((Ajv2020Module as any).default ?? Ajv2020Module) as typeof import('ajv/dist/2020.js').default;
const SPEC = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'waha-openapi-2026.7.1.json'), 'utf8'));
// The spec's one inaccuracy on this path (same generator artefact as contract §9): webhook
// `events` are strings (event names, §7.1), typed as objects in the spec.
SPEC.components.schemas.WebhookConfig.properties.events.items = { type: 'string' };
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(SPEC, 'waha');
const specAccepts = (body: unknown) => ajv.validate({ $ref: 'waha#/components/schemas/SessionUpdateRequest' }, body);

const KEY = 'setup-hmac-key';
const config = { webhookHmacKey: KEY, dashboardApiToken: 'dash-token-0123456789' } as Pick<Config, 'webhookHmacKey' | 'dashboardApiToken'>;
const BASE = 'http://campaign.example:4100';
const OURS = `${BASE}/api/webhooks/waha`;

const put = (sb: Sandbox, body: unknown, session = 'default') =>
  fetch(`${sb.url}/api/sessions/${session}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const get = async (sb: Sandbox, session = 'default') => (await (await fetch(`${sb.url}/api/sessions/${session}`)).json()) as { config: Record<string, any>; engine: { engine: string } };

/** What an operator had before: a CRM webhook, metadata, a proxy, and our webhook as it used to be set up. */
const OPERATOR_CONFIG = {
  metadata: { 'shop.id': '42' },
  proxy: { server: 'proxy.local:3128' },
  webhooks: [
    { url: 'https://crm.example/hooks/waha', events: ['message', 'session.status'], hmac: { key: 'crm-key' }, retries: { policy: 'linear', delaySeconds: 3, attempts: 4 } },
    { url: OURS, events: ['message', 'message.any', 'message.ack', 'session.status'], hmac: { key: KEY }, customHeaders: [{ name: 'X-Env', value: 'prod' }] },
  ],
};

describe('webhook setup, per engine', () => {
  for (const engine of ENGINES) {
    it(`${engine}: each needed event once, ${engine === 'WEBJS' ? 'webjs.tagsEventsOn on' : 'no webjs setting'}, the operator's config kept, a body the spec accepts`, async () => {
      const sb = await startSandbox({ engine, seed: 1 });
      try {
        expect((await put(sb, { config: OPERATOR_CONFIG })).status).toBe(200);
        const port = createWahaSessionConfigClient({ baseUrl: sb.url });
        const before = await showWebhook(port, 'default', BASE, config);
        expect(before.engine).toBe(engine);
        expect(before.problems.join('\n')).toMatch(/subscribes to message besides message\.any: every inbound message arrives twice/);
        if (engine === 'WEBJS') expect(before.problems.join('\n')).toMatch(/webjs\.tagsEventsOn/);
        else expect(before.problems.join('\n')).not.toMatch(/webjs/);

        const after = await setupWebhook(port, 'default', BASE, config);
        expect(after.problems).toEqual([]);
        const s = await get(sb);
        const ours = s.config.webhooks.filter((w: any) => w.url === OURS);
        expect(ours).toHaveLength(1);
        expect(ours[0].events).toEqual([...WEBHOOK_EVENTS]);
        expect(ours[0].events).not.toContain('message');
        expect(new Set(ours[0].events).size).toBe(ours[0].events.length);
        expect(ours[0].hmac).toEqual({ key: KEY });
        expect(ours[0].customHeaders).toEqual([{ name: 'X-Env', value: 'prod' }]);
        // Everything else as the operator left it.
        expect(s.config.webhooks.find((w: any) => w.url !== OURS)).toEqual(OPERATOR_CONFIG.webhooks[0]);
        expect(s.config.metadata).toEqual(OPERATOR_CONFIG.metadata);
        expect(s.config.proxy).toEqual(OPERATOR_CONFIG.proxy);
        if (engine === 'WEBJS') expect(s.config.webjs).toEqual({ tagsEventsOn: true });
        else expect(s.config.webjs).toBeUndefined();

        const sent = sb.requests.filter((r) => r.method === 'PUT').at(-1)!;
        expect(specAccepts(sent.body), JSON.stringify(ajv.errors)).toBe(true);
        // Set up twice: the same config, not a second webhook.
        await setupWebhook(port, 'default', BASE, config);
        expect((await get(sb)).config).toEqual(s.config);
      } finally {
        await sb.close();
      }
    });
  }

  it('WEBJS: other webjs fields are kept when tagsEventsOn is added (a config without any webhook)', async () => {
    const sb = await startSandbox({ engine: 'WEBJS', seed: 1 });
    try {
      expect((await put(sb, { config: { webjs: { tagsEventsOn: false }, debug: true } })).status).toBe(200);
      await setupWebhook(createWahaSessionConfigClient({ baseUrl: sb.url }), 'default', BASE, config);
      const s = await get(sb);
      expect(s.config).toMatchObject({ debug: true, webjs: { tagsEventsOn: true } });
      expect(s.config.webhooks).toHaveLength(1);
    } finally {
      await sb.close();
    }
  });
});

describe("the sandbox's PUT /api/sessions/{session} validates as WAHA does", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ engine: 'GOWS', seed: 2 });
  });
  afterAll(async () => {
    await sb?.close();
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['a webhook without url', { config: { webhooks: [{ events: ['message'] }] } }, /config\.webhooks\.0\.url should not be empty/],
    ['events not an array', { config: { webhooks: [{ url: OURS, events: 'message' }] } }, /config\.webhooks\.0\.events must be an array/],
    ['a retry policy WAHA does not know', { config: { webhooks: [{ url: OURS, events: ['message'], retries: { policy: 'sometimes' } }] } }, /retries\.policy must be one of/],
    ['tagsEventsOn not a boolean', { config: { webjs: { tagsEventsOn: 'yes' } } }, /config\.webjs\.tagsEventsOn must be a boolean/],
    ['a custom header without value', { config: { webhooks: [{ url: OURS, events: ['message'], customHeaders: [{ name: 'X' }] }] } }, /customHeaders\.0\.value should not be empty/],
    ['noweb without markOnline', { config: { noweb: {} } }, /config\.noweb\.markOnline should not be empty/],
  ];
  for (const [what, body, message] of bad) {
    it(`refuses ${what} with 400 naming the field; the spec refuses it too`, async () => {
      const before = await get(sb);
      const r = await put(sb, body);
      expect(r.status).toBe(400);
      const json = (await r.json()) as { message: string[]; statusCode: number };
      expect(json.statusCode).toBe(400);
      expect(json.message.join('\n')).toMatch(message);
      expect(specAccepts(body)).toBe(false);
      expect((await get(sb)).config).toEqual(before.config); // nothing written
    });
  }

  it('an unknown event name is refused (each must be a known event or *), and an unknown session is 404', async () => {
    const r = await put(sb, { config: { webhooks: [{ url: OURS, events: ['message.anything'] }] } });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string[] }).message.join()).toMatch(/config\.webhooks\.0\.events\.0 must be one of/);
    expect((await put(sb, { config: {} }, 'nope')).status).toBe(404);
  });
});

describe('through real HTTP: the sandbox posts to `campaign serve` what setup subscribed to', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    t = await createTestDatabase();
    const c = { ...t.ctx().config, webhookHmacKey: KEY, dashboardApiToken: 'dash-token-0123456789' };
    app = await buildServer({ ctx: t.ctx({ config: c }), config: c });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  for (const engine of ['WEBJS', 'NOWEB'] as Engine[]) {
    it(`${engine}: an inbound arrives once (message.any), a STOP opts out once; with the old set-up (both events) it arrives twice and still counts once`, async () => {
      const brand = `setup-${engine}`;
      const contact = drcContact(engine === 'WEBJS' ? 31_000_001 : 31_000_002, { name: 'Z', first_name: 'Z', brand });
      await t.db.insertInto('contacts').values(contact).execute();
      await startedCampaign(t.ctx(), { name: `setup ${engine}`, brand });
      const sb = await startSandbox({ engine, seed: engine === 'WEBJS' ? 3 : 4, webhookRetryDelayMs: 20 });
      try {
        await setupWebhook(createWahaSessionConfigClient({ baseUrl: sb.url }), 'default', base, config);
        const hello = sb.injectMessage({ from: contact.chat_id, text: 'hello' });
        await sb.idle();
        expect(sb.webhooks.filter((w) => w.status === 200).map((w) => w.event)).toEqual(['message.any']);
        const events = await t.db.selectFrom('message_events').select(['event']).where('waha_raw_id', '=', hello.rawId).execute();
        expect(events).toEqual([{ event: 'message.any' }]);
        expect(await t.db.selectFrom('replies').select('kind').where('chat_id', '=', contact.chat_id).execute()).toEqual([{ kind: 'reply' }]);

        // An operator's older set-up with both message kinds: two deliveries, one effect.
        await put(sb, { config: { webhooks: [{ url: `${base}/api/webhooks/waha`, events: ['message', 'message.any', 'message.ack', 'session.status'], hmac: { key: KEY } }] } });
        const stop = sb.injectMessage({ from: contact.chat_id, text: 'STOP' });
        await sb.idle();
        expect((await t.db.selectFrom('message_events').select('event').where('waha_raw_id', '=', stop.rawId).orderBy('event').execute()).map((e) => e.event)).toEqual(['message', 'message.any']);
        expect(await t.db.selectFrom('replies').select('kind').where('chat_id', '=', contact.chat_id).where('kind', '=', 'opt_out').execute()).toHaveLength(1);
        expect((await t.db.selectFrom('contacts').select('opted_out').where('chat_id', '=', contact.chat_id).executeTakeFirstOrThrow()).opted_out).toBe(true);
      } finally {
        await sb.close();
      }
    });
  }
});
