// The Media Gallery: `campaign media upload|list|show|rm`, plus the file itself. An upload is
// streamed to a private temp folder under its own file name (so the gallery keeps the original
// name, as the CLI does), then handed to the same core upload; the temp folder always goes.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CampaignError, toCampaignError } from '../../core/errors.js';
import { MEDIA_SIZE_LIMITS } from '../../core/media/detect-media-kind.js';
import { checkUploadName, listMedia, mediaFilePath, removeMedia, sendFilename, showMedia, uploadMedia } from '../../core/media/media.service.js';
import { withoutServerPaths } from '../http-errors.js';
import { idParam, parseQuery, queryInt } from '../parse-input.js';

type IdParams = { Params: { id: string } };

/** An uploaded file is never a page of this origin: no scripts, no plugins, a sandbox of its own. */
const FILE_CSP = { 'default-src': ["'none'"], 'img-src': ["'self'"], 'media-src': ["'self'"], 'style-src': ["'unsafe-inline'"], sandbox: [] as string[] };

/** The largest kind's limit (documents); core applies the per-kind limit after sniffing. */
const MAX_UPLOAD = Math.max(...Object.values(MEDIA_SIZE_LIMITS));

// Names are checked in core (checkUploadName), also here as each part arrives: a bad file name
// never reaches the disk, even in the temp folder.
export async function mediaRoutes(app: FastifyInstance): Promise<void> {
  // preservePath: busboy would quietly cut "../../x.png" down to "x.png"; we refuse it instead (checkUploadName).
  await app.register(multipart, { preservePath: true, limits: { fileSize: MAX_UPLOAD, files: 1, fields: 5, fieldSize: 1024, parts: 6 } });

  app.post('/api/media', async (req, reply) => {
    if (!req.isMultipart()) throw new CampaignError('USAGE', 'Upload a file as multipart/form-data with a "file" part (and an optional "name" field).', {});
    const dir = join(tmpdir(), `campaign-upload-${randomBytes(8).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    try {
      let path: string | undefined;
      let name: string | undefined;
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          if (part.fieldname !== 'file' || path) {
            part.file.resume();
            throw new CampaignError('USAGE', 'Send exactly one file, in the "file" part.', {});
          }
          path = join(dir, checkUploadName(part.filename || 'upload', 'filename'));
          await pipeline(part.file, createWriteStream(path, { flags: 'wx' }));
        } else if (part.fieldname === 'name' && typeof part.value === 'string') {
          name = checkUploadName(part.value, 'name');
        }
      }
      if (!path) throw new CampaignError('USAGE', 'No file: send it in a multipart "file" part.', {});
      // Core names the file it read (right for the CLI's own path); here that is our temp copy,
      // so its messages say the uploaded file's name instead of the server's folder.
      const result = await uploadMedia(req.ctx, { path, name }).catch((e: unknown) => {
        throw withoutServerPaths(toCampaignError(e), [dir], basename(path!));
      });
      reply.code(result.created ? 201 : 200);
      return result;
    } catch (e) {
      throw withoutServerPaths(toCampaignError(e), [dir], 'the uploaded file');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  app.get('/api/media', async (req) => {
    const q = parseQuery(z.object({ kind: z.enum(['image', 'audio', 'video', 'document'], { error: 'must be image, audio, video or document' }).optional(), limit: queryInt(1, 100_000).optional() }), req.query);
    return listMedia(req.ctx, { kind: q.kind, limit: q.limit ?? 500 });
  });
  app.get<IdParams>('/api/media/:id', async (req) => showMedia(req.ctx, idParam(req.params.id, 'media asset')));
  app.get<IdParams>('/api/media/:id/file', { helmet: { contentSecurityPolicy: { useDefaults: false, directives: FILE_CSP } } }, async (req, reply) => {
    const { asset } = await showMedia(req.ctx, idParam(req.params.id, 'media asset'));
    const path = mediaFilePath(req.ctx, asset);
    const stream = createReadStream(path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'ENOENT' ? new CampaignError('MEDIA_NOT_FOUND', `The file of media asset ${asset.id} is missing on this server (${asset.storagePath}); upload it again.`, { id: asset.id }) : e),
      );
    });
    const filename = sendFilename(asset).replace(/["\\\r\n]/g, '_');
    return reply
      .header('content-type', asset.mimetype)
      .header('content-length', String(asset.sizeBytes))
      .header('content-disposition', `inline; filename="${filename}"`)
      .header('x-content-type-options', 'nosniff')
      .send(stream);
  });
  app.delete<IdParams>('/api/media/:id', async (req) => removeMedia(req.ctx, idParam(req.params.id, 'media asset')));
}
