// The Media Gallery on real Postgres and real files in a temp MEDIA_DIR: the kind comes from the
// bytes (a PDF named .jpg is a document), per-kind size limits, one stored file per content,
// rm refused while a campaign uses the asset, and the send-time resolver in both modes.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../src/core/context.js';
import { createMediaResolver } from '../../src/core/media/create-media-resolver.js';
import { detectMediaKind } from '../../src/core/media/detect-media-kind.js';
import { getMediaRef } from '../../src/core/media/media.repository.js';
import { listMedia, removeMedia, showMedia, uploadMedia } from '../../src/core/media/media.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const bytes = (...parts: Array<string | number[]>): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const pad = (b: Buffer, n = 256) => Buffer.concat([b, Buffer.alloc(Math.max(0, n - b.length), 0x11)]);

/** Minimal but real signatures of each format, as the first bytes of a file. */
const SAMPLES: Record<string, { file: string; content: Buffer; kind: string; mimetype: string }> = {
  jpeg: { file: 'photo.jpeg', content: pad(bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF\0')), kind: 'image', mimetype: 'image/jpeg' },
  png: { file: 'logo.png', content: pad(bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], 'IHDR')), kind: 'image', mimetype: 'image/png' },
  webp: { file: 'a.webp', content: pad(bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 ')), kind: 'image', mimetype: 'image/webp' },
  gif: { file: 'a.gif', content: pad(bytes('GIF89a', [1, 0, 1, 0])), kind: 'image', mimetype: 'image/gif' },
  opus: {
    file: 'voice.ogg',
    content: pad(bytes('OggS', [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 19], 'OpusHead', [1, 1])),
    kind: 'audio',
    mimetype: 'audio/ogg; codecs=opus',
  },
  mp3: { file: 'song.mp3', content: pad(bytes('ID3', [4, 0, 0, 0, 0, 0, 0])), kind: 'audio', mimetype: 'audio/mpeg' },
  mp3frame: { file: 'raw.mp3', content: pad(bytes([0xff, 0xfb, 0x90, 0x64])), kind: 'audio', mimetype: 'audio/mpeg' },
  m4a: { file: 'note.m4a', content: pad(bytes([0, 0, 0, 0x20], 'ftypM4A ', [0, 0, 0, 0], 'M4A mp42isom')), kind: 'audio', mimetype: 'audio/mp4' },
  aac: { file: 'x.aac', content: pad(bytes([0xff, 0xf1, 0x50, 0x80])), kind: 'audio', mimetype: 'audio/aac' },
  wav: { file: 'beep.wav', content: pad(bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt ')), kind: 'audio', mimetype: 'audio/wav' },
  mp4: { file: 'clip.mp4', content: pad(bytes([0, 0, 0, 0x18], 'ftypisom', [0, 0, 2, 0], 'isomiso2')), kind: 'video', mimetype: 'video/mp4' },
  '3gp': { file: 'old.3gp', content: pad(bytes([0, 0, 0, 0x14], 'ftyp3gp4', [0, 0, 0, 0])), kind: 'video', mimetype: 'video/3gpp' },
  webm: { file: 'c.webm', content: pad(bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], 'webm')), kind: 'video', mimetype: 'video/webm' },
  pdf: { file: 'brochure.pdf', content: pad(bytes('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n')), kind: 'document', mimetype: 'application/pdf' },
  docx: {
    file: 'letter.docx',
    content: pad(bytes([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0x06, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x13, 0, 0, 0], '[Content_Types].xml...PK\x03\x04word/document.xml')),
    kind: 'document',
    mimetype: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  },
  zip: { file: 'bundle.zip', content: pad(bytes([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0], 'hello.txt')), kind: 'document', mimetype: 'application/zip' },
  text: { file: 'notes.txt', content: Buffer.from('Bonjour Kinshasa ✓\nline two\n'), kind: 'document', mimetype: 'text/plain' },
  binary: { file: 'blob.bin', content: Buffer.from([0, 1, 2, 3, 0, 255, 254, 0, 7]), kind: 'document', mimetype: 'application/octet-stream' },
};

describe('media gallery', () => {
  let t: TestDatabase;
  let ctx: Context;
  let mediaDir: string;
  let srcDir: string;

  const write = (name: string, content: Buffer | string): string => {
    const p = join(srcDir, name);
    writeFileSync(p, content);
    return p;
  };

  async function insertCampaign(c: { name: string; template: unknown; mediaAssetId?: number | null; status?: string }): Promise<number> {
    const approved = c.status && c.status !== 'DRAFT' && c.status !== 'CANCELLED';
    const row = await t.db
      .insertInto('campaigns')
      .values({
        name: c.name,
        brand: 'vaseline',
        waha_session: 'default',
        template_mode: 'simple',
        template_json: JSON.stringify(c.template),
        message_type: 'image',
        media_asset_id: c.mediaAssetId ?? null,
        content_hash: 'h',
        status: (c.status ?? 'DRAFT') as never,
        approved_content_hash: approved ? 'h' : null,
        approved_at: approved ? new Date() : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  beforeAll(async () => {
    t = await createTestDatabase();
    mediaDir = mkdtempSync(join(tmpdir(), 'campaign-media-'));
    srcDir = mkdtempSync(join(tmpdir(), 'campaign-media-src-'));
    const base = t.ctx();
    ctx = t.ctx({ config: { ...base.config, mediaDir, publicMediaBaseUrl: undefined } });
  });
  afterAll(async () => {
    await t.drop();
    rmSync(mediaDir, { recursive: true, force: true });
    rmSync(srcDir, { recursive: true, force: true });
  });

  describe('kind from the content, never the extension', () => {
    for (const [label, s] of Object.entries(SAMPLES)) {
      it(`${label} → ${s.kind} (${s.mimetype})`, () => {
        const d = detectMediaKind(s.content);
        expect({ kind: d.kind, mimetype: d.mimetype }).toEqual({ kind: s.kind, mimetype: s.mimetype });
      });
    }

    it('uploads every format with the detected kind and mimetype', async () => {
      for (const s of Object.values(SAMPLES)) {
        const r = await uploadMedia(ctx, { path: write(s.file, s.content) });
        expect(r.created).toBe(true);
        expect(r.asset).toMatchObject({ kind: s.kind, mimetype: s.mimetype, sizeBytes: s.content.length, originalFilename: s.file });
      }
    });

    it('a PDF named photo.jpg is a document, stored as .pdf and sent as photo.pdf', async () => {
      const content = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from('a pdf pretending to be a jpeg')]);
      const r = await uploadMedia(ctx, { path: write('photo.jpg', content), name: 'Flyer' });
      expect(r.asset).toMatchObject({ name: 'Flyer', kind: 'document', mimetype: 'application/pdf', originalFilename: 'photo.jpg' });
      expect(r.asset.storagePath).toBe(`${r.asset.sha256}.pdf`);
      const detail = await showMedia(ctx, r.asset.id);
      expect(detail.sendFilename).toBe('photo.pdf');
      expect(detail.file.present).toBe(true);
      expect(detail.publicUrl).toBeNull();
      // the export templates rely on keeps working
      expect(await getMediaRef(t.db, r.asset.id)).toEqual({ id: r.asset.id, kind: 'document', mimetype: 'application/pdf', filename: 'photo.jpg' });
    });

    it('a JPEG named .pdf is an image', async () => {
      const r = await uploadMedia(ctx, { path: write('scan.pdf', pad(bytes([0xff, 0xd8, 0xff, 0xdb]), 300)) });
      expect(r.asset).toMatchObject({ kind: 'image', mimetype: 'image/jpeg' });
    });
  });

  describe('size limits per kind', () => {
    const sized = (name: string, head: Buffer, size: number): string => {
      const p = write(name, head);
      truncateSync(p, size);
      return p;
    };
    const MB = 1024 * 1024;

    it('refuses an image over 5 MB, naming the limit, and stores nothing', async () => {
      const before = readdirSync(mediaDir).length;
      const p = sized('big.jpg', SAMPLES.jpeg!.content, 5 * MB + 1);
      await expect(uploadMedia(ctx, { path: p })).rejects.toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        message: expect.stringContaining('5 MB limit for image files'),
        details: expect.objectContaining({ kind: 'image', limitBytes: 5 * MB }),
      });
      expect(readdirSync(mediaDir).length).toBe(before);
    });

    it('accepts an image of exactly 5 MB', async () => {
      const r = await uploadMedia(ctx, { path: sized('edge.jpg', pad(bytes([0xff, 0xd8, 0xff, 0xe1]), 64), 5 * MB) });
      expect(r.asset).toMatchObject({ kind: 'image', sizeBytes: 5 * MB });
    });

    it('audio and video are limited to 16 MB', async () => {
      await expect(uploadMedia(ctx, { path: sized('long.mp3', SAMPLES.mp3!.content, 16 * MB + 1) })).rejects.toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        message: expect.stringContaining('16 MB limit for audio files'),
      });
      await expect(uploadMedia(ctx, { path: sized('long.mp4', SAMPLES.mp4!.content, 16 * MB + 1) })).rejects.toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        message: expect.stringContaining('16 MB limit for video files'),
      });
    });

    it('a 6 MB PDF is fine (documents go to 100 MB); a 100 MB + 1 byte one is not', async () => {
      const ok = await uploadMedia(ctx, { path: sized('manual.pdf', pad(bytes('%PDF-1.5\n'), 512), 6 * MB) });
      expect(ok.asset.kind).toBe('document');
      await expect(uploadMedia(ctx, { path: sized('huge.pdf', pad(bytes('%PDF-1.5\n'), 512), 100 * MB + 1) })).rejects.toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        message: expect.stringContaining('100 MB limit for document files'),
      });
    });

    it('refuses a missing or empty file with a clear error', async () => {
      await expect(uploadMedia(ctx, { path: join(srcDir, 'nope.png') })).rejects.toMatchObject({ code: 'FILE_UNREADABLE' });
      await expect(uploadMedia(ctx, { path: write('empty.png', Buffer.alloc(0)) })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });
  });

  describe('content-addressed storage', () => {
    it('stores one file per content under its sha256, and a second upload returns the same asset', async () => {
      const content = pad(bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'dedup-me'), 1000);
      const sha = createHash('sha256').update(content).digest('hex');
      const first = await uploadMedia(ctx, { path: write('one.png', content), name: 'One' });
      const second = await uploadMedia(ctx, { path: write('two.png', content), name: 'Two' });
      expect(first.created).toBe(true);
      expect(second.created).toBe(false);
      expect(second.asset.id).toBe(first.asset.id);
      expect(first.asset.sha256).toBe(sha);
      expect(readFileSync(join(mediaDir, `${sha}.png`)).equals(content)).toBe(true);
      expect(readdirSync(mediaDir).filter((f) => f.startsWith(sha))).toHaveLength(1);
      expect(readdirSync(mediaDir).filter((f) => f.endsWith('.tmp'))).toHaveLength(0);
      const rows = await t.db.selectFrom('media_assets').select('id').where('sha256', '=', sha).execute();
      expect(rows).toHaveLength(1);
    });

    it('concurrent uploads of the same content end with one row and one file', async () => {
      const content = pad(bytes('GIF89a', [9, 9]), 5000);
      const paths = [0, 1, 2, 3].map((i) => write(`race${i}.gif`, content));
      const results = await Promise.all(paths.map((p) => uploadMedia(ctx, { path: p })));
      expect(new Set(results.map((r) => r.asset.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
    });

    it('audits each upload (and not a duplicate upload)', async () => {
      const r = await uploadMedia(ctx, { path: write('audited.txt', 'audit me\n'), name: 'Audited' });
      await uploadMedia(ctx, { path: write('audited-again.txt', 'audit me\n') });
      const rows = await t.db.selectFrom('admin_activity').selectAll().where('action', '=', 'media.upload').where('entity_id', '=', String(r.asset.id)).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ actor: 'test', entity_type: 'media_asset' });
    });

    it('lists newest first and by kind', async () => {
      const all = await listMedia(ctx);
      expect(all.assets.length).toBeGreaterThan(10);
      expect(all.assets[0]!.id).toBeGreaterThan(all.assets[1]!.id);
      const videos = await listMedia(ctx, { kind: 'video' });
      expect(videos.assets.every((a) => a.kind === 'video')).toBe(true);
      expect(videos.assets.length).toBeGreaterThanOrEqual(3);
    });
  });

  describe('rm', () => {
    it('refuses while a campaign uses the asset (by media_asset_id or a media-asset:// in its template), naming the campaigns', async () => {
      const a = await uploadMedia(ctx, { path: write('used.png', pad(bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'used'), 400)) });
      const b = await uploadMedia(ctx, { path: write('used2.png', pad(bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'used-2'), 400)) });
      const byColumn = await insertCampaign({ name: 'Promo by column', template: { mode: 'simple', type: 'image' }, mediaAssetId: a.asset.id });
      const byTemplate = await insertCampaign({
        name: 'Promo by template',
        status: 'COMPLETED',
        template: { mode: 'advanced', endpoint: '/api/sendImage', payload: { file: { url: `media-asset://${a.asset.id}` } } },
      });
      // media-asset://<a>0 is another asset id and must not count as a use of <a>
      await insertCampaign({ name: 'Other', template: { payload: { file: { url: `media-asset://${a.asset.id}0` } } } });

      const err = await removeMedia(ctx, a.asset.id).catch((e) => e);
      expect(err).toMatchObject({ code: 'IN_USE', exitCode: 5 });
      expect(err.message).toContain('"Promo by column"');
      expect(err.message).toContain('"Promo by template"');
      expect(err.message).not.toContain('"Other"');
      expect(err.details.campaigns.map((c: { campaignId: number }) => c.campaignId)).toEqual([byColumn, byTemplate]);
      expect(existsSync(join(mediaDir, a.asset.storagePath))).toBe(true);
      expect((await showMedia(ctx, a.asset.id)).usedBy.map((u) => u.via)).toEqual([['media_asset_id'], ['template']]);

      // b is used only by a test run's template snapshot: its recipients may still be sent
      const owner = await insertCampaign({ name: 'Draft edited after test', template: { type: 'text', text: 'no media now' } });
      await t.db
        .insertInto('campaign_test_runs')
        .values({ campaign_id: owner, test_list_name: 'QA', waha_session: 'default', template_json: JSON.stringify({ payload: { file: { url: `media-asset://${b.asset.id}` } } }), content_hash: 'h' })
        .execute();
      await expect(removeMedia(ctx, b.asset.id)).rejects.toMatchObject({ code: 'IN_USE', message: expect.stringContaining('"Draft edited after test"') });
    });

    it('removes an unused asset, its file, and audits it; a second rm is not found', async () => {
      const a = await uploadMedia(ctx, { path: write('unused.webm', pad(SAMPLES.webm!.content, 700)) });
      const path = join(mediaDir, a.asset.storagePath);
      expect(existsSync(path)).toBe(true);
      const r = await removeMedia(ctx, a.asset.id);
      expect(r).toMatchObject({ deleted: { id: a.asset.id }, fileRemoved: true });
      expect(existsSync(path)).toBe(false);
      const audit = await t.db.selectFrom('admin_activity').select(['action', 'actor']).where('action', '=', 'media.rm').where('entity_id', '=', String(a.asset.id)).execute();
      expect(audit).toEqual([{ action: 'media.rm', actor: 'test' }]);
      await expect(removeMedia(ctx, a.asset.id)).rejects.toMatchObject({ code: 'MEDIA_NOT_FOUND' });
      await expect(showMedia(ctx, a.asset.id)).rejects.toMatchObject({ code: 'MEDIA_NOT_FOUND' });
    });
  });

  describe('send-time resolver', () => {
    it('without PUBLIC_MEDIA_BASE_URL: file.data is the file in base64, url removed, mimetype and filename from the asset', async () => {
      const content = pad(bytes('%PDF-1.6\n'), 2048);
      const a = await uploadMedia(ctx, { path: write('offer.jpg', content) });
      const payload = {
        session: 'default',
        chatId: '243810000001@c.us',
        caption: 'Hello',
        file: { url: `media-asset://${a.asset.id}`, mimetype: 'image/jpeg', filename: 'offer.jpg' },
      };
      const frozen = structuredClone(payload);
      const resolved = await createMediaResolver(ctx)(payload);
      expect(resolved).toEqual({
        session: 'default',
        chatId: '243810000001@c.us',
        caption: 'Hello',
        file: { mimetype: 'application/pdf', filename: 'offer.pdf', data: content.toString('base64') },
      });
      // promise 3: the stored payload keeps its reference
      expect(payload).toEqual(frozen);
    });

    it('with PUBLIC_MEDIA_BASE_URL: file.url is <base>/<stored file name>; nested headerImage too; other URLs untouched', async () => {
      const urlCtx = t.ctx({ config: { ...ctx.config, publicMediaBaseUrl: 'https://cdn.example.com/media' } });
      const img = await uploadMedia(ctx, { path: write('header.jpeg', pad(bytes([0xff, 0xd8, 0xff, 0xe0], 'header'), 500)) });
      const resolve = createMediaResolver(urlCtx);
      const resolved = await resolve({
        chatId: 'x@c.us',
        headerImage: { url: `media-asset://${img.asset.id}` },
        body: 'Hi',
        other: { url: 'https://example.com/a.jpg', mimetype: 'image/jpeg' },
        list: [{ file: { url: `media-asset://${img.asset.id}`, data: 'stale' } }],
      });
      const expected = { mimetype: 'image/jpeg', filename: 'header.jpeg', url: `https://cdn.example.com/media/${img.asset.sha256}.jpg` };
      expect(resolved).toEqual({
        chatId: 'x@c.us',
        headerImage: expected,
        body: 'Hi',
        other: { url: 'https://example.com/a.jpg', mimetype: 'image/jpeg' },
        list: [{ file: expected }],
      });
      expect((await showMedia(urlCtx, img.asset.id)).publicUrl).toBe(expected.url);
    });

    it('a payload without references is returned as is; an unknown asset is MEDIA_NOT_FOUND', async () => {
      const resolve = createMediaResolver(ctx);
      expect(await resolve({ chatId: 'x@c.us', text: 'media-asset://1 is just text here' })).toEqual({ chatId: 'x@c.us', text: 'media-asset://1 is just text here' });
      await expect(resolve({ file: { url: 'media-asset://999999' } })).rejects.toMatchObject({ code: 'MEDIA_NOT_FOUND' });
    });

    it('a file missing from MEDIA_DIR is a clear MEDIA_NOT_FOUND naming the path', async () => {
      const a = await uploadMedia(ctx, { path: write('gone.wav', pad(SAMPLES.wav!.content, 900)) });
      rmSync(join(mediaDir, a.asset.storagePath));
      await expect(createMediaResolver(ctx)({ file: { url: `media-asset://${a.asset.id}` } })).rejects.toMatchObject({
        code: 'MEDIA_NOT_FOUND',
        message: expect.stringContaining(a.asset.storagePath),
      });
    });
  });
});

describe('media names (issue 5: names with ../ rejected, as `campaign media upload f.jpg --name ../x` calls it)', () => {
  let t: TestDatabase;
  let ctx: Context;
  let mediaDir: string;
  let srcDir: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    mediaDir = mkdtempSync(join(tmpdir(), 'campaign-media-names-'));
    srcDir = mkdtempSync(join(tmpdir(), 'campaign-media-names-src-'));
    ctx = t.ctx({ config: { ...t.ctx().config, mediaDir } });
  });
  afterAll(async () => {
    await t.drop();
    rmSync(mediaDir, { recursive: true, force: true });
    rmSync(srcDir, { recursive: true, force: true });
  });

  it('a --name with ../, /, \\ or NUL is VALIDATION_FAILED naming "name"; nothing is stored', async () => {
    const path = join(srcDir, 'f.jpg');
    writeFileSync(path, pad(SAMPLES.jpeg!.content, 600));
    for (const name of ['../x', '../../etc/passwd', 'a/b', 'a\\b', 'x\u0000y', '..']) {
      await expect(uploadMedia(ctx, { path, name }), name).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/name: must be a plain file name/),
        details: { issues: [expect.objectContaining({ path: 'name' })] },
      });
    }
    expect((await listMedia(ctx, {})).assets).toHaveLength(0);
    expect(existsSync(mediaDir) ? readdirSync(mediaDir) : []).toEqual([]);
    // The same file with a plain name goes in.
    expect((await uploadMedia(ctx, { path, name: 'March flyer' })).created).toBe(true);
  });

  it('a file whose own name has a backslash is refused as "filename" (it would be the name recipients see)', async () => {
    const path = join(srcDir, 'a\\..\\b.jpg');
    writeFileSync(path, pad(SAMPLES.jpeg!.content, 700));
    await expect(uploadMedia(ctx, { path })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [expect.objectContaining({ path: 'filename' })] } });
  });
});
