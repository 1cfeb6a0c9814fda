// Turns Media Gallery references in a rendered payload into something WAHA can fetch, at send
// time. Queue rows keep `media-asset://<id>` forever (promise 3: the payload that was rendered is
// the payload that is kept); only the request body sent to WAHA carries a URL or the bytes.
import { readFile } from 'node:fs/promises';
import type { Context } from '../context.js';
import { CampaignError } from '../errors.js';
import type { MediaResolver } from '../worker/send-recipient.js';
import { getMediaAsset, type MediaAsset, parseMediaReference } from './media.repository.js';
import { mediaFilePath, publicMediaUrl, sendFilename } from './media.service.js';

/**
 * With PUBLIC_MEDIA_BASE_URL set, `file.url` becomes `<base>/<stored file name>` (WAHA downloads
 * it); otherwise the file is read and sent as `file.data` base64 and `url` is removed (WAHA
 * accepts exactly one of the two). Either way mimetype and filename come from the asset, which
 * knows the real content. Every object with such a `url` is resolved, wherever it sits
 * (`file`, the buttons' `headerImage`), and the input payload is never modified.
 */
export function createMediaResolver(ctx: Pick<Context, 'db' | 'config'>): MediaResolver {
  // Asset rows never change after upload and cannot be removed while a campaign uses them, so a
  // worker may keep them for its lifetime. File bytes are not cached: a 16 MB video per worker is
  // enough memory to hold on to.
  const assets = new Map<number, Promise<MediaAsset>>();
  const asset = (id: number) => {
    let p = assets.get(id);
    if (!p) {
      p = getMediaAsset(ctx.db, id);
      p.catch(() => assets.delete(id));
      assets.set(id, p);
    }
    return p;
  };

  const resolveFile = async (file: Record<string, unknown>, id: number): Promise<Record<string, unknown>> => {
    const a = await asset(id);
    const { url: _url, data: _data, ...rest } = file;
    const common = { ...rest, mimetype: a.mimetype, filename: sendFilename(a) };
    const url = publicMediaUrl(ctx, a);
    if (url) return { ...common, url };
    const path = mediaFilePath(ctx, a);
    const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new CampaignError(
        'MEDIA_NOT_FOUND',
        `The file of media asset ${id} "${a.name}" is missing at ${path} (${e.code ?? e.message}). Check MEDIA_DIR, or upload the file again.`,
        { id, path },
      );
    });
    return { ...common, data: bytes.toString('base64') };
  };

  const walk = async (value: unknown): Promise<unknown> => {
    if (Array.isArray(value)) return Promise.all(value.map(walk));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const id = parseMediaReference(obj.url);
    if (id !== undefined) return resolveFile(obj, id);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = await walk(v);
    return out;
  };

  return async (payload) => (await walk(payload)) as Record<string, unknown>;
}
