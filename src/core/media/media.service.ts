// The Media Gallery: upload, list, show, rm. Files live under MEDIA_DIR named by the sha256 of
// their content, so the same file uploaded twice is stored once and keeps one id; the row in
// media_assets says what the content is (detected from its bytes) and who added it.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, extname, isAbsolute, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { recordActivity } from '../audit/audit.repository.js';
import type { Context } from '../context.js';
import { CampaignError, validationError } from '../errors.js';
import { type DetectedMedia, detectMediaKind, extensionsFor, formatLimit, MEDIA_SIZE_LIMITS, SNIFF_BYTES } from './detect-media-kind.js';
import {
  campaignsUsingMedia,
  deleteMediaAsset,
  findMediaAssetBySha,
  getMediaAsset,
  insertMediaAsset,
  listMediaAssets,
  lockMediaAsset,
  type MediaAsset,
  type MediaListFilter,
  type MediaUse,
} from './media.repository.js';

export interface UploadMediaInput {
  path: string;
  /** Display name in the gallery; defaults to the file's name. */
  name?: string;
}

export interface UploadMediaResult {
  asset: MediaAsset;
  /** false when the same content was already in the gallery (the existing asset is returned). */
  created: boolean;
  detected: { format: string; kind: MediaAsset['kind']; mimetype: string };
}

/** The stored file of an asset on this machine. */
export function mediaFilePath(ctx: Pick<Context, 'config'>, asset: Pick<MediaAsset, 'storagePath'>): string {
  return isAbsolute(asset.storagePath) ? asset.storagePath : join(ctx.config.mediaDir, asset.storagePath);
}

/**
 * The file name recipients see. It keeps the uploaded name but never an extension that lies
 * about the content (`brochure.jpg` holding a PDF is sent as `brochure.pdf`), since phones
 * pick the viewer from the extension.
 */
export function sendFilename(asset: Pick<MediaAsset, 'name' | 'originalFilename' | 'mimetype' | 'storagePath'>): string {
  const original = asset.originalFilename ?? asset.name;
  const storedExt = extname(asset.storagePath).slice(1).toLowerCase();
  const fits = new Set([...extensionsFor(asset.mimetype), storedExt].filter(Boolean));
  const ext = extname(original).slice(1).toLowerCase();
  if (ext && fits.has(ext)) return original;
  const stem = ext ? original.slice(0, -(ext.length + 1)) : original;
  return storedExt ? `${stem || 'file'}.${storedExt}` : original;
}

/**
 * A media name that could point anywhere but at one file in one folder is refused, not cleaned:
 * the person uploading should know their name was not kept, and no later use of the name (a
 * download's file name, a path) can climb out of a folder. `field` names what was refused.
 */
export function checkUploadName(value: string, field: 'filename' | 'name'): string {
  const v = value.trim();
  // eslint-disable-next-line no-control-regex
  if (v === '' || v === '.' || v === '..' || /[/\\\u0000-\u001f]/.test(v) || v.length > 255) {
    throw validationError('VALIDATION_FAILED', [{ path: field, message: 'must be a plain file name: no folders (/ or \\), no "..", no control characters, at most 255 characters' }], 'Upload refused');
  }
  return v;
}

export async function uploadMedia(ctx: Context, input: UploadMediaInput): Promise<UploadMediaResult> {
  const source = input.path;
  // Checked before anything is read or stored: the display name and the uploaded file's own name.
  if (input.name !== undefined && input.name.trim() !== '') checkUploadName(input.name, 'name');
  checkUploadName(basename(source), 'filename');
  const info = await stat(source).catch((e: NodeJS.ErrnoException) => {
    throw new CampaignError('FILE_UNREADABLE', `Cannot read ${source}: ${e.code === 'ENOENT' ? 'no such file' : e.message}.`, { path: source });
  });
  if (!info.isFile()) throw new CampaignError('FILE_UNREADABLE', `${source} is not a regular file.`, { path: source });
  if (info.size === 0) throw new CampaignError('VALIDATION_FAILED', `${source} is empty; there is nothing to send.`, { path: source });

  const detected = detectMediaKind(await readHead(source));
  assertWithinLimit(detected, info.size, source);

  const name = (input.name ?? basename(source)).trim();
  if (name === '') throw new CampaignError('USAGE', '--name must not be empty.', {});

  // Copy first, hashing as the bytes go by: what is stored is exactly what was hashed and
  // checked, even if the source changes meanwhile. The temp file sits in MEDIA_DIR so the final
  // rename is atomic (same file system) and a crash leaves no half file under a content name.
  const dir = ctx.config.mediaDir;
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.upload-${randomBytes(6).toString('hex')}.tmp`);
  let size = 0;
  let head = Buffer.alloc(0);
  const hash = createHash('sha256');
  const limit = MEDIA_SIZE_LIMITS[detected.kind];
  try {
    await pipeline(
      createReadStream(source),
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > limit) return done(tooLarge(detected, size, source));
          if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
          hash.update(chunk);
          done(null, chunk);
        },
      }),
      createWriteStream(temp, { flags: 'wx' }),
    );
    // The stat and the first read raced with any writer; the copy is what counts.
    const stored = detectMediaKind(head);
    if (stored.mimetype !== detected.mimetype) {
      throw new CampaignError('FILE_UNREADABLE', `${source} changed while it was being uploaded; try again.`, { path: source });
    }
    const sha256 = hash.digest('hex');

    const existing = await findMediaAssetBySha(ctx.db, sha256);
    if (existing) {
      await rm(temp, { force: true });
      return { asset: existing, created: false, detected: describe(detected) };
    }

    const storagePath = `${sha256}.${detected.ext}`;
    await rename(temp, join(dir, storagePath));
    const asset = await ctx.db.transaction().execute(async (trx) => {
      const inserted = await insertMediaAsset(trx, {
        name,
        kind: detected.kind,
        mimetype: detected.mimetype,
        sizeBytes: size,
        sha256,
        storagePath,
        originalFilename: basename(source),
        createdBy: ctx.actor,
      });
      if (!inserted) return undefined;
      await recordActivity(
        trx,
        {
          actor: ctx.actor,
          action: 'media.upload',
          entityType: 'media_asset',
          entityId: inserted.id,
          summary: `uploaded ${detected.kind} "${name}" (${detected.format}, ${size} bytes) as media asset ${inserted.id}`,
          details: { name, kind: detected.kind, mimetype: detected.mimetype, sizeBytes: size, sha256, originalFilename: basename(source) },
        },
        ctx.config,
      );
      return inserted;
    });
    if (asset) return { asset, created: true, detected: describe(detected) };
    // Another upload of the same content committed between our lookup and insert: theirs stands
    // (the file under the content name is byte-identical either way).
    const winner = await findMediaAssetBySha(ctx.db, sha256);
    if (!winner) throw new CampaignError('INTERNAL', `Media asset with sha256 ${sha256} vanished during upload.`, { sha256 });
    return { asset: winner, created: false, detected: describe(detected) };
  } finally {
    await rm(temp, { force: true });
  }
}

function describe(d: DetectedMedia): UploadMediaResult['detected'] {
  return { format: d.format, kind: d.kind, mimetype: d.mimetype };
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function assertWithinLimit(d: DetectedMedia, size: number, source: string): void {
  if (size > MEDIA_SIZE_LIMITS[d.kind]) throw tooLarge(d, size, source);
}

function tooLarge(d: DetectedMedia, size: number, source: string): CampaignError {
  const limit = MEDIA_SIZE_LIMITS[d.kind];
  return new CampaignError(
    'PAYLOAD_TOO_LARGE',
    `${basename(source)} is ${(size / (1024 * 1024)).toFixed(1)} MB, over the ${formatLimit(limit)} limit for ${d.kind} files (it is a ${d.format}). Compress it or send a smaller file.`,
    { path: source, kind: d.kind, mimetype: d.mimetype, sizeBytes: size, limitBytes: limit },
  );
}

export async function listMedia(ctx: Context, filter: MediaListFilter = {}): Promise<{ assets: MediaAsset[] }> {
  return { assets: await listMediaAssets(ctx.db, filter) };
}

export interface MediaDetail {
  asset: MediaAsset;
  /** What recipients' phones get as the file name. */
  sendFilename: string;
  /** Where the file lives on this machine, and whether it is there. */
  file: { path: string; present: boolean };
  /** The URL WAHA is given when PUBLIC_MEDIA_BASE_URL is set; null means the file goes as base64. */
  publicUrl: string | null;
  usedBy: MediaUse[];
}

export async function showMedia(ctx: Context, id: number): Promise<MediaDetail> {
  const asset = await getMediaAsset(ctx.db, id);
  const path = mediaFilePath(ctx, asset);
  const present = await stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  return {
    asset,
    sendFilename: sendFilename(asset),
    file: { path, present },
    publicUrl: publicMediaUrl(ctx, asset) ?? null,
    usedBy: await campaignsUsingMedia(ctx.db, id),
  };
}

export function publicMediaUrl(ctx: Pick<Context, 'config'>, asset: Pick<MediaAsset, 'storagePath'>): string | undefined {
  const base = ctx.config.publicMediaBaseUrl;
  return base ? `${base}/${encodeURIComponent(basename(asset.storagePath))}` : undefined;
}

/**
 * Deletes an asset no campaign uses. The asset row is locked while the uses are checked, and the
 * foreign key on campaigns.media_asset_id backs the check; the file goes only after the row's
 * deletion has committed, so a failed rm never leaves a row without its file.
 */
export async function removeMedia(ctx: Context, id: number): Promise<{ deleted: MediaAsset; fileRemoved: boolean }> {
  const deleted = await ctx.db.transaction().execute(async (trx) => {
    const asset = await lockMediaAsset(trx, id);
    const uses = await campaignsUsingMedia(trx, id);
    if (uses.length > 0) {
      const names = uses.map((u) => `${u.campaignId} "${u.campaignName}" (${u.status}${u.archived ? ', archived' : ''})`);
      throw new CampaignError(
        'IN_USE',
        `Media asset ${id} "${asset.name}" is used by ${uses.length === 1 ? 'campaign' : 'campaigns'} ${names.join(', ')}; it cannot be removed while a campaign references it.`,
        { id, campaigns: uses },
      );
    }
    await deleteMediaAsset(trx, id);
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: 'media.rm',
        entityType: 'media_asset',
        entityId: id,
        summary: `removed media asset ${id} "${asset.name}" (${asset.kind}, ${asset.sizeBytes} bytes)`,
        details: { name: asset.name, kind: asset.kind, sha256: asset.sha256, storagePath: asset.storagePath },
      },
      ctx.config,
    );
    return asset;
  });
  let fileRemoved = true;
  try {
    await rm(mediaFilePath(ctx, deleted));
  } catch (e) {
    fileRemoved = false;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') ctx.log.warn(`media asset ${id} was removed but its file could not be: ${(e as Error).message}`);
  }
  return { deleted, fileRemoved };
}
