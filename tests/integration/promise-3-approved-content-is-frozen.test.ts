// promise 3 (approved content is frozen; queue rows and test-run recipients keep the rendered
// endpoint and payload that was sent, forever), tried on the paths next to the ones
// campaign-lifecycle.test.ts and test-runs.test.ts walk: every later state (approved, queued,
// running, paused, completed, cancelled) on both surfaces (the API route and the core), `apply`
// of the same and of a changed file, edits racing the approval, and the rows' payloads after
// sends, acks, a 501 fallback, renamed contacts and testers, a rebuilt queue, and a media asset
// that is replaced or removed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cancelCampaign, pauseCampaign, startCampaign } from '../../src/core/campaigns/campaign-control.js';
import {
  applyCampaign, approveCampaign, archiveCampaign, campaignContentHash, createCampaign, deleteCampaign, editCampaign,
} from '../../src/core/campaigns/campaign.service.js';
import { FakeClock } from '../../src/core/clock.js';
import type { Config } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import { createMediaResolver } from '../../src/core/media/create-media-resolver.js';
import { removeMedia, showMedia, uploadMedia } from '../../src/core/media/media.service.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { getReportHeader, reportPage } from '../../src/core/reports/report.repository.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { addTestListMembers, createTestList, removeTestList } from '../../src/core/test-lists/test-list.service.js';
import { startTestRun } from '../../src/core/test-runs/index.js';
import { addTestUser, editTestUser, removeTestUser } from '../../src/core/test-users/test-user.service.js';
import { createWahaClient } from '../../src/core/waha/index.js';
import { runWorker } from '../../src/core/worker/run-worker.js';
import { ackPayload, type SandboxMessage } from '../../src/sandbox/engine-shapes.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { signWahaBody } from '../../src/core/webhooks/index.js';
import { buildServer } from '../../src/server/build-server.js';
import { refused } from '../helpers/refused.js';
import { alwaysOpenSettings, BUTTONS_TEMPLATE, drcContact } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const TOKEN = 'p3-dashboard-token-0123456789abcdef';
const KEY = 'p3-hmac';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const TEXT = { mode: 'simple', type: 'text', text: 'Hi {{first_name}}, {{brand}} news' };
const IMAGE = { mode: 'advanced', type: 'image', payload: { caption: '{{first_name}}, see the {{brand}} flyer' } };
const PNG = (tag: string) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from(`IHDR${tag}`), Buffer.alloc(300, 0x11)]);

const clock = new FakeClock();
let t: TestDatabase;
let ctx: Context;
let config: Config;
let app: FastifyInstance;
let seq = 0;
let session = '';
let srcDir = '';

beforeAll(async () => {
  t = await createTestDatabase({ clock });
  srcDir = mkdtempSync(join(tmpdir(), 'p3-src-'));
  config = { ...t.ctx().config, dashboardApiToken: TOKEN, webhookHmacKey: KEY, mediaDir: mkdtempSync(join(tmpdir(), 'p3-media-')) };
  ctx = t.ctx({ config });
  app = await buildServer({ ctx, config, authLimit: { max: 10_000 } });
});
afterAll(async () => {
  await app?.close();
  await t?.drop();
});
beforeEach(async () => {
  clock.set(Date.now());
  session = `p3s${++seq}`;
  await updateSettings(ctx, { ...alwaysOpenSettings(), max_attempts: 3 });
});

/** `n` contacts of a fresh brand; returns the brand and their ids. */
async function contacts(n: number): Promise<{ brand: string; ids: number[] }> {
  const brand = `p3brand${seq}`;
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = drcContact(70_000_000 + seq * 100 + i, { name: `Person ${i}`, first_name: `Person${i}`, city: 'Goma', source: 'store', store_id: 'GOM-1', brand });
    ids.push((await t.db.insertInto('contacts').values(c).returning('id').executeTakeFirstOrThrow()).id);
  }
  return { brand, ids };
}

type Stage = 'APPROVED' | 'QUEUED' | 'RUNNING' | 'PAUSED' | 'COMPLETED' | 'CANCELLED';

/** A campaign file's fields for this test, named `name`. */
const file = (name: string, brand: string, template: unknown = TEXT, extra: Record<string, unknown> = {}) => ({ name, brand, session, template, ...extra });

/** A campaign created from `file(...)` and taken to `stage` (COMPLETED: every row sent by the worker). */
async function campaignAt(stage: Stage, f: Record<string, unknown>, s?: Sandbox): Promise<number> {
  const { campaign } = await createCampaign(ctx, f);
  const id = String(campaign.id);
  await approveCampaign(ctx, id);
  if (stage === 'APPROVED') return campaign.id;
  await buildQueue(ctx, id);
  if (stage === 'QUEUED') return campaign.id;
  if (stage === 'CANCELLED') {
    await cancelCampaign(ctx, id);
    return campaign.id;
  }
  await startCampaign(ctx, id);
  if (stage === 'PAUSED') await pauseCampaign(ctx, id);
  if (stage === 'COMPLETED') {
    await work(s!);
    expect((await campaignRow(campaign.id)).status).toBe('COMPLETED');
  }
  return campaign.id;
}

const campaignRow = (id: number) => t.db.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

/** What promise 3 freezes on a campaign, as stored. */
async function content(id: number) {
  const c = await campaignRow(id);
  return { name: c.name, brand: c.brand, session: c.waha_session, template: c.template_json, media: c.media_asset_id, hash: c.content_hash, approved: c.approved_content_hash, updatedAt: c.updated_at };
}

/** What promise 3 keeps on queue rows, forever. */
async function rendered(campaignId: number) {
  return t.db.selectFrom('send_queue').select(['id', 'chat_id', 'message_type', 'endpoint', 'rendered_payload', 'fallback_endpoint', 'fallback_payload'])
    .where('campaign_id', '=', campaignId).orderBy('id').execute();
}
async function renderedTest(runId: number) {
  return t.db.selectFrom('campaign_test_run_recipients').select(['id', 'name', 'chat_id', 'message_type', 'endpoint', 'rendered_payload', 'fallback_endpoint', 'fallback_payload'])
    .where('test_run_id', '=', runId).orderBy('id').execute();
}

async function sandbox(engine: 'WEBJS' | 'NOWEB' | 'GOWS' = 'WEBJS'): Promise<Sandbox> {
  return startSandbox({ port: 0, engine, seed: 3000 + seq, sessions: [session], ackDelayMs: [1, 5] });
}

function work(s: Sandbox) {
  return runWorker(ctx, { waha: createWahaClient({ baseUrl: s.url, timeoutMs: 3000 }), resolveMedia: createMediaResolver(ctx), rng: () => 0.5 }, {
    once: true, name: 'p3-worker', version: 'test', stop: new AbortController().signal, maintenanceMs: 60_000,
  });
}

const auditCount = async (campaignId: number) =>
  Number((await sql<{ n: number }>`select count(*)::int as n from admin_activity where campaign_id = ${campaignId}`.execute(t.db)).rows[0]!.n);

describe('promise 3: no surface edits content after approval', () => {
  const stages: Stage[] = ['APPROVED', 'QUEUED', 'RUNNING', 'PAUSED', 'COMPLETED', 'CANCELLED'];
  for (const stage of stages) {
    it(`promise 3: ${stage}: the API's PUT and the core's edit both refuse a change of template, brand, session or name, and write nothing`, async () => {
      const { brand } = await contacts(2);
      const s = await sandbox();
      try {
        const id = await campaignAt(stage, file(`frozen-${seq}`, brand), s);
        const before = await content(id);
        const audits = await auditCount(id);
        const changes = [
          file(`frozen-${seq}`, brand, { mode: 'simple', type: 'text', text: 'Sneaky {{first_name}}' }),
          file(`frozen-${seq}`, `${brand}-other`),
          { ...file(`frozen-${seq}`, brand), session: `${session}-other` },
          file(`renamed-${seq}`, brand),
        ];
        for (const change of changes) {
          const r = await app.inject({ method: 'PUT', url: `/api/campaigns/${id}`, headers: auth, payload: JSON.stringify(change) });
          expect(r.statusCode, r.body).toBe(409);
          expect(r.json().error.code).toBe('CONTENT_FROZEN');
          expect(r.json().error.message).toMatch(/duplicate/);
          const e = await refused(editCampaign(ctx, String(id), change));
          expect(e.code).toBe('CONTENT_FROZEN');
          // By name too (the CLI's `campaign edit <name>`).
          expect((await refused(editCampaign(ctx, `frozen-${seq}`, change))).code).toBe('CONTENT_FROZEN');
        }
        expect(await content(id)).toEqual(before);
        expect(await auditCount(id)).toBe(audits);
        if (stage !== 'APPROVED') {
          // The rows rendered from it are untouched as well.
          expect((await rendered(id)).every((r) => (r.rendered_payload as { text: string }).text.endsWith(`, ${brand} news`))).toBe(true);
        }
      } finally {
        await s.close();
      }
    });
  }

  for (const stage of ['APPROVED', 'RUNNING', 'COMPLETED'] as const) {
    it(`promise 3: ${stage}: \`apply\` of the unchanged file (keys in any order) is a no-op; a changed template, brand, session or media is refused, nothing written`, async () => {
      const { brand } = await contacts(1);
      const s = await sandbox();
      try {
        const f = file(`applied-${seq}`, brand);
        const first = await applyCampaign(ctx, f);
        expect(first.action).toBe('created');
        const id = first.campaign.id;
        await approveCampaign(ctx, String(id));
        if (stage !== 'APPROVED') {
          await buildQueue(ctx, String(id));
          await startCampaign(ctx, String(id));
        }
        if (stage === 'COMPLETED') await work(s);
        expect((await campaignRow(id)).status).toBe(stage);
        const before = await content(id);
        const audits = await auditCount(id);
        const rows = await rendered(id);

        const same = await applyCampaign(ctx, f);
        expect(same).toMatchObject({ action: 'unchanged', campaign: { id } });
        // The same file written with its keys in another order is the same content.
        const reordered = { template: { text: TEXT.text, type: TEXT.type, mode: TEXT.mode }, session, brand, name: f.name };
        expect((await applyCampaign(ctx, reordered)).action).toBe('unchanged');

        const media = await uploadMedia(ctx, { path: writeSrc(`apply-${seq}.png`, PNG(`apply${seq}`)) });
        for (const changed of [
          file(f.name, brand, { mode: 'simple', type: 'text', text: 'Changed {{first_name}}' }),
          file(f.name, `${brand}-x`),
          { ...f, session: `${session}-x` },
          file(f.name, brand, IMAGE, { mediaAssetId: media.asset.id }),
        ]) {
          const e = await refused(applyCampaign(ctx, changed));
          expect(e.code).toBe('CONTENT_FROZEN');
          expect(e.message).toContain(`campaign duplicate ${id}`);
        }
        expect(await content(id)).toEqual(before);
        expect(await auditCount(id)).toBe(audits);
        expect(await rendered(id)).toEqual(rows);
        // No second campaign of that name appeared.
        expect(await t.db.selectFrom('campaigns').select('id').where('name', '=', f.name).execute()).toEqual([{ id }]);
      } finally {
        await s.close();
      }
    });
  }

  it('promise 3: API edits racing the approval: whatever wins, the approved hash is the hash of the content stored', async () => {
    const { brand } = await contacts(1);
    for (let round = 0; round < 6; round++) {
      const name = `race-${seq}-${round}`;
      const { campaign } = await createCampaign(ctx, file(name, brand));
      const edit = file(name, brand, { mode: 'simple', type: 'text', text: `Edited ${round} {{first_name}}` });
      const [approved, put] = await Promise.allSettled([
        approveCampaign(ctx, String(campaign.id)),
        app.inject({ method: 'PUT', url: `/api/campaigns/${campaign.id}`, headers: auth, payload: JSON.stringify(edit) }),
      ]);
      expect(approved.status).toBe('fulfilled');
      const c = await campaignRow(campaign.id);
      expect(c.status).toBe('APPROVED');
      expect(c.approved_content_hash).toBe(c.content_hash);
      expect(c.content_hash).toBe(campaignContentHash({ brand: c.brand, template: c.template_json, mediaAssetId: c.media_asset_id }));
      // A change that lost the race was refused, not half-applied.
      if (put.status === 'fulfilled' && put.value.statusCode !== 200) expect(put.value.json().error.code).toBe('CONTENT_FROZEN');
    }
  });

  // Found by this file: `apply` read the draft without locking its row (findDraftByName) and
  // updated it by id alone (updateDraft), so an approval that committed between the two was
  // overwritten: the campaign stayed APPROVED with content nobody approved. Fixed in
  // campaign.service.ts: apply locks the draft (lockCampaign) and reads it again under the lock,
  // and updateDraft, the one statement that writes content, is conditional on an unfrozen DRAFT
  // (else CONTENT_FROZEN). Here the approval is held open (the statements approveCampaign writes)
  // so that it commits exactly in that window.
  it('promise 3: an apply that read the draft before an approval committed cannot change the approved content after it', async () => {
    const { brand } = await contacts(1);
    const name = `apply-race-${seq}`;
    const { campaign } = await createCampaign(ctx, file(name, brand));
    let applying: Promise<unknown> | undefined;
    await t.db.transaction().execute(async (trx) => {
      await sql`select id from campaigns where id = ${campaign.id} for update`.execute(trx);
      applying = applyCampaign(ctx, file(name, brand, { mode: 'simple', type: 'text', text: 'Never approved {{first_name}}' })).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 400)); // apply has read the DRAFT and waits to write
      await sql`update campaigns set status = 'APPROVED', approved_at = now(), approved_by = 'lead', approved_content_hash = content_hash,
                content_frozen_at = now() where id = ${campaign.id}`.execute(trx);
    });
    const result = await applying;
    const c = await campaignRow(campaign.id);
    expect(c.status).toBe('APPROVED');
    expect(c.content_hash).toBe(c.approved_content_hash);
    expect((c.template_json as { text: string }).text).toBe(TEXT.text);
    expect(result).toMatchObject({ code: 'CONTENT_FROZEN' });
  });
});

describe('promise 3: rows keep what was rendered and sent, forever', () => {
  it('promise 3: queue rows keep endpoint and payload through the send, acks, a renamed contact, changed settings, a rebuilt queue and archiving; WAHA got exactly that payload', async () => {
    const { brand, ids } = await contacts(2);
    const s = await sandbox('NOWEB');
    try {
      const id = await campaignAt('RUNNING', file(`kept-${seq}`, brand));
      const before = await rendered(id);
      expect((before[0]!.rendered_payload as { text: string }).text).toBe(`Hi Person0, ${brand} news`);
      // After the build: the contact is renamed in the CRM, a new contact arrives and the queue is
      // built again (a RUNNING campaign may take new contacts), the settings change.
      await t.db.updateTable('contacts').set({ first_name: 'Renamed', name: 'Renamed Person' }).where('id', '=', ids[0]!).execute();
      await t.db.insertInto('contacts').values(drcContact(70_000_000 + seq * 100 + 50, { name: 'Late Comer', first_name: 'Late', brand })).execute();
      expect((await buildQueue(ctx, String(id))).queued).toBe(1);
      await updateSettings(ctx, { daily_limit: 999, hourly_limit: 999 });
      const built = await rendered(id);
      expect(built.slice(0, 2)).toEqual(before);
      expect((built[2]!.rendered_payload as { text: string }).text).toBe(`Hi Late, ${brand} news`);
      // What WAHA got is exactly what the rows hold (text needs no media resolution).
      expect(await work(s)).toMatchObject({ sent: 3 });
      expect(s.requests.filter((r) => r.path === '/api/sendText').map((r) => r.body)).toEqual(built.map((r) => r.rendered_payload));
      // Acks move the rows on, archiving hides the campaign: the rendered rows stay as they were.
      const sentRows = await t.db.selectFrom('send_queue').select(['waha_raw_id', 'chat_id']).where('campaign_id', '=', id).orderBy('id').execute();
      for (const r of sentRows) {
        const m: SandboxMessage = { messageId: `true_${r.chat_id}_${r.waha_raw_id}`, rawId: r.waha_raw_id!, session, chatId: r.chat_id, fromMe: true, endpoint: '/api/sendText', body: {}, text: '', hasMedia: false, ack: 3, timestamp: 0, at: '' };
        const body = JSON.stringify({ id: `evt_p3_${r.waha_raw_id}`, timestamp: Date.now(), event: 'message.ack', session, payload: ackPayload('NOWEB', '243800000000@c.us', m, 3), engine: 'NOWEB' });
        const res = await app.inject({ method: 'POST', url: '/api/webhooks/waha', headers: { 'content-type': 'application/json', 'x-webhook-hmac': signWahaBody(body, KEY) }, payload: body });
        expect(res.statusCode, res.body).toBe(200);
      }
      await archiveCampaign(ctx, String(id));
      expect(await rendered(id)).toEqual(built);
      expect((await t.db.selectFrom('send_queue').select('status').where('campaign_id', '=', id).execute()).map((r) => r.status)).toEqual(['READ', 'READ', 'READ']);
    } finally {
      await s.close();
    }
  });

  it('promise 3: after a 501 the row keeps the buttons payload and the fallback; used_fallback says the fallback left, and WAHA got exactly the fallback payload', async () => {
    const { brand } = await contacts(2);
    const s = await sandbox('GOWS');
    try {
      const id = await campaignAt('RUNNING', file(`fallback-${seq}`, brand, BUTTONS_TEMPLATE));
      const before = await rendered(id);
      expect(await work(s)).toMatchObject({ sent: 2 });
      expect(await rendered(id)).toEqual(before);
      const rows = await t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', id).orderBy('id').execute();
      expect(rows.map((r) => [r.endpoint, r.fallback_endpoint, r.used_fallback])).toEqual(Array(2).fill(['/api/sendButtons', '/api/sendText', true]));
      const got = s.requests.filter((r) => r.path === '/api/sendText' && r.status === 201);
      expect(got.map((r) => r.body)).toEqual(rows.map((r) => r.fallback_payload));
      // The one buttons request WAHA refused was the rendered buttons payload.
      expect(s.requests.filter((r) => r.path === '/api/sendButtons').map((r) => r.body)).toEqual([rows[0]!.rendered_payload]);
    } finally {
      await s.close();
    }
  });

  // Found by this file: the report named the fallback endpoint for a row whose fallback left,
  // but computed its message summary from rendered_payload (the buttons body, which WhatsApp never
  // showed). Fixed in reports/report.repository.ts: SENT_PAYLOAD_SQL picks the payload that left
  // (fallback_payload when used_fallback), and PAYLOAD_SUMMARY_SQL summarises it, for the CSV and
  // the JSON report of campaigns and test runs alike. A row still waiting keeps the buttons summary.
  it('promise 3: the report of a row whose fallback left summarises the fallback that was sent, not the buttons', async () => {
    const { brand } = await contacts(1);
    const s = await sandbox('GOWS');
    try {
      const id = await campaignAt('RUNNING', file(`report-${seq}`, brand, BUTTONS_TEMPLATE));
      // Before the send nothing has left: the row is reported as the buttons message it will try.
      const [waiting] = await reportPage(t.db, await getReportHeader(t.db, { campaignId: id }), 0, 10);
      expect(waiting).toMatchObject({ endpoint: '/api/sendButtons', used_fallback: false, payload_summary: 'Person0, how are you?' });
      expect(await work(s)).toMatchObject({ sent: 1 });
      const [row] = await reportPage(t.db, await getReportHeader(t.db, { campaignId: id }), 0, 10);
      expect(row).toMatchObject({ endpoint: '/api/sendText', used_fallback: true });
      expect(row!.payload_summary).toBe(`Person0: ${brand} fallback`);
    } finally {
      await s.close();
    }
  });

  it('promise 3: test-run recipients keep name, number, endpoint and payload after the tester is renamed, given another number or removed, and the list removed', async () => {
    const { brand } = await contacts(0);
    const names = [`Asha ${seq}`, `Ben ${seq}`];
    await addTestUser(ctx, { name: names[0]!, phone: `+24381${String(6_000_000 + seq * 10)}` });
    await addTestUser(ctx, { name: names[1]!, phone: `+24381${String(6_000_000 + seq * 10 + 1)}` });
    await createTestList(ctx, { name: `qa${seq}` });
    await addTestListMembers(ctx, `qa${seq}`, names);
    const { campaign } = await createCampaign(ctx, file(`tr-${seq}`, brand, BUTTONS_TEMPLATE));
    const run = await startTestRun(ctx, String(campaign.id), `qa${seq}`);
    const s = await sandbox('WEBJS');
    try {
      expect(await work(s)).toMatchObject({ sent: 2 });
    } finally {
      await s.close();
    }
    const before = await renderedTest(run.testRun.id);
    expect(before.map((r) => r.name)).toEqual(names);
    await editTestUser(ctx, names[0]!, { name: `Asha Renamed ${seq}`, phone: `+24381${String(6_500_000 + seq)}` });
    await removeTestUser(ctx, names[1]!);
    await removeTestList(ctx, `qa${seq}`);
    await editCampaign(ctx, String(campaign.id), file(`tr-${seq}`, brand, { mode: 'simple', type: 'text', text: 'Now plain {{first_name}}' }));
    expect(await renderedTest(run.testRun.id)).toEqual(before);
    const runRow = await t.db.selectFrom('campaign_test_runs').select(['test_list_name', 'template_json']).where('id', '=', run.testRun.id).executeTakeFirstOrThrow();
    expect(runRow).toEqual({ test_list_name: `qa${seq}`, template_json: BUTTONS_TEMPLATE });
    const sentRows = await t.db.selectFrom('campaign_test_run_recipients').select(['status', 'used_fallback']).where('test_run_id', '=', run.testRun.id).execute();
    expect(sentRows).toEqual(Array(2).fill({ status: 'SENT_API_ACCEPTED', used_fallback: true }));
  });

  it('promise 3: a DRAFT with a test run cannot be deleted (API and core), even racing the test run\'s start: the run and its rows exist with the campaign, or neither does', async () => {
    const { brand } = await contacts(0);
    await addTestUser(ctx, { name: `Del ${seq}`, phone: `+24381${String(6_800_000 + seq)}` });
    await createTestList(ctx, { name: `del${seq}` });
    await addTestListMembers(ctx, `del${seq}`, [`Del ${seq}`]);
    for (let round = 0; round < 5; round++) {
      const { campaign } = await createCampaign(ctx, file(`del-${seq}-${round}`, brand));
      const [started, deleted] = await Promise.allSettled([startTestRun(ctx, String(campaign.id), `del${seq}`), deleteCampaign(ctx, String(campaign.id))]);
      const exists = await t.db.selectFrom('campaigns').select('id').where('id', '=', campaign.id).executeTakeFirst();
      const runs = await sql<{ n: number }>`select count(*)::int as n from campaign_test_runs where campaign_id = ${campaign.id}`.execute(t.db);
      if (started.status === 'fulfilled') {
        expect(deleted.status).toBe('rejected');
        expect(exists).toBeDefined();
        expect(runs.rows[0]!.n).toBe(1);
        expect(await renderedTest(started.value.testRun.id)).toHaveLength(1);
        const r = await app.inject({ method: 'DELETE', url: `/api/campaigns/${campaign.id}`, headers: { authorization: auth.authorization } });
        expect(r.statusCode).toBe(409);
        expect(r.json().error.code).toBe('IN_USE');
      } else {
        expect(deleted.status).toBe('fulfilled');
        expect(exists).toBeUndefined();
        expect(runs.rows[0]!.n).toBe(0);
      }
    }
  });
});

describe('promise 3: media a row refers to', () => {
  it('promise 3: a media asset used by queue rows cannot be removed in any later state; uploading a new file under the same name makes a new asset and the rows keep the old one', async () => {
    const { brand } = await contacts(1);
    const asset = (await uploadMedia(ctx, { path: writeSrc(`flyer-${seq}.png`, PNG(`a${seq}`)), name: `Flyer ${seq}` })).asset;
    const s = await sandbox();
    try {
      const id = await campaignAt('RUNNING', file(`media-${seq}`, brand, IMAGE, { mediaAssetId: asset.id }));
      const before = await rendered(id);
      expect(JSON.stringify(before[0]!.rendered_payload)).toContain(`media-asset://${asset.id}`);
      for (const step of ['running', 'completed', 'archived'] as const) {
        if (step === 'completed') expect(await work(s)).toMatchObject({ sent: 1 });
        if (step === 'archived') await archiveCampaign(ctx, String(id));
        const e = await refused(removeMedia(ctx, asset.id));
        expect(e.code, step).toBe('IN_USE');
      }
      // "Replacing" the flyer: a new upload, a new id; the campaign and its rows keep the old one.
      const replaced = (await uploadMedia(ctx, { path: writeSrc(`flyer-${seq}-v2.png`, PNG(`b${seq}`)), name: `Flyer ${seq}` })).asset;
      expect(replaced.id).not.toBe(asset.id);
      expect((await campaignRow(id)).media_asset_id).toBe(asset.id);
      expect(await rendered(id)).toEqual(before);
      // The same bytes uploaded again are the same asset, not a copy.
      expect((await uploadMedia(ctx, { path: writeSrc(`flyer-${seq}-again.png`, PNG(`a${seq}`)) })).asset.id).toBe(asset.id);
    } finally {
      await s.close();
    }
  });

  // Found by this file: a test run of a DRAFT whose media comes from its media_asset_id renders
  // `media-asset://<id>` into every recipient row, but the run's template snapshot does not name
  // the asset (the campaign column does). After the DRAFT was edited to another asset, nothing in
  // campaignsUsingMedia (media/media.repository.ts) saw the first one as used: it could be removed
  // while the run's rows still referred to it. Fixed there: every stored reference counts, the
  // rendered and fallback payloads of queue rows and test-run recipients included, found through
  // campaign_media_refs() and its GIN expression indexes (migration 0009).
  it('promise 3: a media asset that test-run rows refer to cannot be removed after the DRAFT moved to another asset', async () => {
    const { brand } = await contacts(0);
    await addTestUser(ctx, { name: `Media Tester ${seq}`, phone: `+24381${String(6_900_000 + seq)}` });
    await createTestList(ctx, { name: `mq${seq}` });
    await addTestListMembers(ctx, `mq${seq}`, [`Media Tester ${seq}`]);
    const first = (await uploadMedia(ctx, { path: writeSrc(`first-${seq}.png`, PNG(`f${seq}`)) })).asset;
    const second = (await uploadMedia(ctx, { path: writeSrc(`second-${seq}.png`, PNG(`s${seq}`)) })).asset;
    const { campaign } = await createCampaign(ctx, file(`mdraft-${seq}`, brand, IMAGE, { mediaAssetId: first.id }));
    const run = await startTestRun(ctx, String(campaign.id), `mq${seq}`);
    expect(JSON.stringify((await renderedTest(run.testRun.id))[0]!.rendered_payload)).toContain(`media-asset://${first.id}`);
    await editCampaign(ctx, String(campaign.id), file(`mdraft-${seq}`, brand, IMAGE, { mediaAssetId: second.id }));
    const e = await refused(removeMedia(ctx, first.id));
    expect(e.code).toBe('IN_USE');
    expect(e.details).toMatchObject({ campaigns: [{ campaignId: campaign.id, via: ['test_run_rows'] }] });
    expect((await showMedia(ctx, first.id)).usedBy).toEqual([expect.objectContaining({ campaignId: campaign.id, via: ['test_run_rows'] })]);
    // The asset the DRAFT uses now is in use by its column only; neither is gone.
    expect((await showMedia(ctx, second.id)).usedBy).toEqual([expect.objectContaining({ campaignId: campaign.id, via: ['media_asset_id'] })]);
    expect((await refused(removeMedia(ctx, second.id))).code).toBe('IN_USE');
  });

  it('promise 3: an asset named only by a stored fallback payload (queue row or test-run recipient) is in use; one named by nothing (only by a longer id) is removable', async () => {
    const { brand, ids } = await contacts(1);
    const only = (await uploadMedia(ctx, { path: writeSrc(`fb-${seq}.png`, PNG(`fb${seq}`)) })).asset;
    const other = (await uploadMedia(ctx, { path: writeSrc(`fb2-${seq}.png`, PNG(`fb2${seq}`)) })).asset;
    const { campaign } = await createCampaign(ctx, file(`fbq-${seq}`, brand));
    // A row as a queue build of another day may have left it: the fallback names the asset, the
    // campaign's content does not (the rows are what was sent, forever).
    const fallback = { chatId: 'x@c.us', nested: [{ file: { url: `media-asset://${only.id}` } }] };
    await t.db.insertInto('send_queue').values({
      campaign_id: campaign.id, contact_id: ids[0]!, chat_id: `243${70_000_000 + seq * 100}@c.us`, message_type: 'text', endpoint: '/api/sendText',
      rendered_payload: JSON.stringify({ text: `see media-asset://${other.id}5 later` }), fallback_endpoint: '/api/sendImage', fallback_payload: JSON.stringify(fallback),
    }).execute();
    expect((await refused(removeMedia(ctx, only.id))).details).toMatchObject({ campaigns: [{ campaignId: campaign.id, via: ['queue_rows'] }] });
    await t.db.deleteFrom('send_queue').where('campaign_id', '=', campaign.id).execute();
    // The same reference in a test-run recipient's fallback.
    await addTestUser(ctx, { name: `Fb Tester ${seq}`, phone: `+24381${String(6_950_000 + seq)}` });
    await createTestList(ctx, { name: `fb${seq}` });
    await addTestListMembers(ctx, `fb${seq}`, [`Fb Tester ${seq}`]);
    const run = await startTestRun(ctx, String(campaign.id), `fb${seq}`);
    await t.db.updateTable('campaign_test_run_recipients').set({ fallback_payload: JSON.stringify(fallback) }).where('test_run_id', '=', run.testRun.id).execute();
    expect((await refused(removeMedia(ctx, only.id))).details).toMatchObject({ campaigns: [{ campaignId: campaign.id, via: ['test_run_rows'] }] });
    // An asset no row, template or campaign names goes (media-asset://<its id>5 above is another id).
    expect((await removeMedia(ctx, other.id)).deleted.id).toBe(other.id);
  });
});

function writeSrc(name: string, content: Buffer): string {
  const p = join(srcDir, name);
  writeFileSync(p, content);
  return p;
}
