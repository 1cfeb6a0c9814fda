// Voice and video WhatsApp cannot play as they are (issue 9, finding 12): an MP3 uploaded to the
// Media Gallery and used by a voice campaign is sent with `convert: true`, decided when the
// template is compiled, so the queue row keeps the payload that is sent (promise 3), and every
// surface that compiles the template (create, apply, templates validate, preview) warns.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCampaign, approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import type { Context } from '../../src/core/context.js';
import { uploadMedia } from '../../src/core/media/media.service.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const pad = (b: Buffer, n = 256) => Buffer.concat([b, Buffer.alloc(Math.max(0, n - b.length), 0x11)]);
const MP3 = pad(Buffer.concat([Buffer.from('ID3', 'latin1'), Buffer.from([4, 0, 0, 0, 0, 0, 0])]));
const OPUS = pad(Buffer.concat([Buffer.from('OggS', 'latin1'), Buffer.from([0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 19]), Buffer.from('OpusHead', 'latin1'), Buffer.from([1, 1])]));
const WARNING = 'payload.file: voice is audio/mpeg: WAHA will convert it to OGG/Opus (convert: true)';

describe('a voice campaign with an MP3 Media Gallery asset', () => {
  let t: TestDatabase;
  let ctx: Context;
  let src: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    const base = t.ctx();
    ctx = t.ctx({ config: { ...base.config, mediaDir: mkdtempSync(join(tmpdir(), 'campaign-media-')), publicMediaBaseUrl: undefined } });
    src = mkdtempSync(join(tmpdir(), 'campaign-media-src-'));
    await t.db
      .insertInto('contacts')
      .values({ crm_id: 'c1', name: 'Amani Kabila', first_name: 'Amani', phone_raw: '+243812345678', chat_id: '243812345678@c.us', phone_valid: true, city: 'Goma', source: 'store', store_id: 'G1', brand: 'vaseline', registered_brands: ['vaseline'] })
      .execute();
  });
  afterAll(async () => t?.drop());

  it('promise 3: the queue row carries convert: true, and create and apply say why', async () => {
    writeFileSync(join(src, 'jingle.mp3'), MP3);
    const asset = await uploadMedia(ctx, { path: join(src, 'jingle.mp3') });
    expect(asset.asset.mimetype).toBe('audio/mpeg');
    const file = { name: 'Voice MP3', brand: 'vaseline', template: { mode: 'simple', type: 'voice' }, mediaAssetId: asset.asset.id };
    const created = await createCampaign(ctx, file);
    expect(created.warnings).toContain(WARNING);
    const applied = await applyCampaign(ctx, file);
    expect(applied.warnings).toContain(WARNING);
    await approveCampaign(ctx, String(created.campaign.id));
    await buildQueue(ctx, String(created.campaign.id));
    const row = await t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', created.campaign.id).executeTakeFirstOrThrow();
    expect(row.endpoint).toBe('/api/sendVoice');
    const payload = typeof row.rendered_payload === 'string' ? JSON.parse(row.rendered_payload) : row.rendered_payload;
    expect(payload).toMatchObject({ chatId: '243812345678@c.us', convert: true, file: { url: `media-asset://${asset.asset.id}`, mimetype: 'audio/mpeg' } });
  });

  it('an OGG/Opus asset is sent as it is: convert false, no warning', async () => {
    writeFileSync(join(src, 'note.ogg'), OPUS);
    const asset = await uploadMedia(ctx, { path: join(src, 'note.ogg') });
    const created = await createCampaign(ctx, { name: 'Voice Opus', brand: 'vaseline', template: { mode: 'simple', type: 'voice' }, mediaAssetId: asset.asset.id });
    expect(created.warnings.filter((w) => /convert/.test(w))).toEqual([]);
    await approveCampaign(ctx, String(created.campaign.id));
    await buildQueue(ctx, String(created.campaign.id));
    const row = await t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', created.campaign.id).executeTakeFirstOrThrow();
    const payload = typeof row.rendered_payload === 'string' ? JSON.parse(row.rendered_payload) : row.rendered_payload;
    expect(payload.convert).toBe(false);
  });
});
