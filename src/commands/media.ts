// `campaign media upload <file> [--name] | list [--kind] | show <id> | rm <id>`: the Media
// Gallery. Flags are parsed here; detection, limits, dedup and the in-use rule live in core/media.
import type { Command } from 'commander';
import { z } from 'zod';
import { formatLimit, MEDIA_SIZE_LIMITS, type MediaKind } from '../core/media/detect-media-kind.js';
import type { MediaAsset } from '../core/media/media.repository.js';
import { listMedia, type MediaDetail, removeMedia, showMedia, uploadMedia, type UploadMediaResult } from '../core/media/media.service.js';
import { CampaignError } from '../core/errors.js';
import { type CliKit, intArg } from './kit.js';
import { keyValue, paint, table } from './render.js';

const KINDS = ['image', 'audio', 'video', 'document'] as const;
const kindSchema = z.enum(KINDS);

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function block(a: MediaAsset): Array<[string, unknown]> {
  return [
    ['id', a.id],
    ['name', a.name],
    ['kind', a.kind],
    ['mimetype', a.mimetype],
    ['size', `${size(a.sizeBytes)} (${a.sizeBytes} bytes)`],
    ['sha256', a.sha256],
    ['uploaded file', a.originalFilename ?? ''],
    ['use in templates', a.reference],
    ['added', `${a.createdAt} by ${a.createdBy ?? ''}`],
  ];
}

function presentUpload(r: UploadMediaResult): string {
  const head = r.created ? `uploaded: media asset ${r.asset.id}` : `already in the gallery (same content): media asset ${r.asset.id}`;
  return `${head}\n${keyValue([...block(r.asset), ['detected', r.detected.format]])}`;
}

function presentList(r: { assets: MediaAsset[] }): string {
  const limits = KINDS.map((k) => `${k} ${formatLimit(MEDIA_SIZE_LIMITS[k as MediaKind])}`).join(', ');
  return table(
    ['id', 'name', 'kind', 'mimetype', 'size', 'reference', 'added'],
    r.assets.map((a) => [a.id, a.name, a.kind, a.mimetype, size(a.sizeBytes), a.reference, a.createdAt.slice(0, 16).replace('T', ' ')]),
    { empty: `The gallery is empty. Upload with \`campaign media upload <file>\` (limits: ${limits}).` },
  );
}

function presentDetail(d: MediaDetail): string {
  const used = d.usedBy.length
    ? d.usedBy.map((u) => `${u.campaignId} "${u.campaignName}" (${u.status}${u.archived ? ', archived' : ''}; via ${u.via.join(', ')})`).join('\n')
    : 'no campaign';
  return keyValue([
    ...block(d.asset),
    ['sent as', d.sendFilename],
    ['file', d.file.present ? d.file.path : paint('red', `${d.file.path} (missing)`)],
    ['sent to WAHA as', d.publicUrl ?? 'file.data (base64; PUBLIC_MEDIA_BASE_URL is not set)'],
    ['used by', used],
  ]);
}

function mediaId(value: string | undefined): number {
  const id = intArg(value, '<id>', { min: 1 });
  if (id === undefined) throw new CampaignError('USAGE', 'A media asset id is required.');
  return id;
}

export function register(program: Command, k: CliKit): void {
  const media = program.command('media').description('The Media Gallery: upload, list, show, rm');

  media
    .command('upload')
    .description('Add a file to the gallery; its kind comes from its content (image 5 MB, audio/video 16 MB, document 100 MB)')
    .argument('<file>', 'path of the file')
    .option('--name <name>', 'display name (default: the file name)')
    .action(k.action(async (run, [path]) => uploadMedia(await run.ctx(), { path: path!, name: run.opts.name }), presentUpload));

  media
    .command('list')
    .description('List the gallery, newest first')
    .option('--kind <kind>', `only one kind: ${KINDS.join(', ')}`)
    .option('--limit <n>', 'at most this many', '500')
    .action(
      k.action(async (run) => {
        const kind = run.opts.kind === undefined ? undefined : kindSchema.safeParse(String(run.opts.kind).toLowerCase());
        if (kind && !kind.success) throw new CampaignError('USAGE', `--kind must be one of ${KINDS.join(', ')}; got "${run.opts.kind}".`);
        return listMedia(await run.ctx(), { kind: kind?.data, limit: intArg(run.opts.limit, '--limit', { min: 1, max: 100_000 }) });
      }, presentList),
    );

  media
    .command('show')
    .description('One asset: details, where its file is, how it is sent, and which campaigns use it')
    .argument('<id>', 'media asset id')
    .action(k.action(async (run, [id]) => showMedia(await run.ctx(), mediaId(id)), presentDetail));

  media
    .command('rm')
    .description('Delete an asset and its file (refused while any campaign uses it)')
    .argument('<id>', 'media asset id')
    .action(
      k.action(
        async (run, [id]) => removeMedia(await run.ctx(), mediaId(id)),
        (r) => `removed: media asset ${r.deleted.id} "${r.deleted.name}"${r.fileRemoved ? '' : ' (its file was already gone)'}`,
      ),
    );
}
