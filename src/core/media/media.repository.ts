// Every query on media_assets. `find*` returns undefined, `get*` throws MEDIA_NOT_FOUND.
// getMediaRef is what templates need of an asset; the gallery reads whole rows.
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { Database, MediaAssetsTable } from '../db/schema.js';
import { CampaignError } from '../errors.js';

type Db = Kysely<Database> | Transaction<Database>;
type Row = Selectable<MediaAssetsTable>;

export interface MediaRef {
  id: number;
  kind: 'image' | 'audio' | 'video' | 'document';
  mimetype: string;
  filename: string;
}

export async function getMediaRef(db: Kysely<Database> | Transaction<Database>, id: number): Promise<MediaRef> {
  const row = await db.selectFrom('media_assets').select(['id', 'kind', 'mimetype', 'name', 'original_filename']).where('id', '=', id).executeTakeFirst();
  if (!row) throw mediaNotFound(id);
  return { id: row.id, kind: row.kind, mimetype: row.mimetype, filename: row.original_filename ?? row.name };
}

/** How templates and queue payloads point at a gallery asset; replaced at send time. */
export const MEDIA_REF_SCHEME = 'media-asset://';

export function mediaReference(id: number): string {
  return `${MEDIA_REF_SCHEME}${id}`;
}

/** The id in `media-asset://<id>`, or undefined when the text is not such a reference. */
export function parseMediaReference(value: unknown): number | undefined {
  if (typeof value !== 'string' || !value.startsWith(MEDIA_REF_SCHEME)) return undefined;
  const rest = value.slice(MEDIA_REF_SCHEME.length);
  return /^[1-9]\d{0,15}$/.test(rest) ? Number(rest) : undefined;
}

export interface MediaAsset {
  id: number;
  name: string;
  kind: MediaRef['kind'];
  mimetype: string;
  sizeBytes: number;
  sha256: string;
  /** The stored file, relative to MEDIA_DIR (`<sha256>.<ext>`); an absolute path is used as is. */
  storagePath: string;
  originalFilename: string | null;
  /** What templates write to use this asset. */
  reference: string;
  createdAt: string;
  createdBy: string | null;
}

export function toMediaAsset(r: Row): MediaAsset {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    mimetype: r.mimetype,
    sizeBytes: Number(r.size_bytes),
    sha256: r.sha256,
    storagePath: r.storage_path,
    originalFilename: r.original_filename,
    reference: mediaReference(r.id),
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
  };
}

export function mediaNotFound(id: number | string): CampaignError {
  return new CampaignError('MEDIA_NOT_FOUND', `No media asset has id ${id}. \`campaign media list\` shows the gallery; upload with \`campaign media upload <file>\`.`, {
    id,
  });
}

export async function findMediaAsset(db: Db, id: number): Promise<MediaAsset | undefined> {
  const row = await db.selectFrom('media_assets').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toMediaAsset(row) : undefined;
}

export async function getMediaAsset(db: Db, id: number): Promise<MediaAsset> {
  const asset = await findMediaAsset(db, id);
  if (!asset) throw mediaNotFound(id);
  return asset;
}

export async function findMediaAssetBySha(db: Db, sha256: string): Promise<MediaAsset | undefined> {
  const row = await db.selectFrom('media_assets').selectAll().where('sha256', '=', sha256).executeTakeFirst();
  return row ? toMediaAsset(row) : undefined;
}

/** Locks the row so a concurrent `rm` and a use-check cannot interleave. */
export async function lockMediaAsset(trx: Transaction<Database>, id: number): Promise<MediaAsset> {
  const row = await trx.selectFrom('media_assets').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  if (!row) throw mediaNotFound(id);
  return toMediaAsset(row);
}

/** What an upload knows before the insert: the asset without its id, reference and time. */
export type NewMediaAsset = Omit<MediaAsset, 'id' | 'reference' | 'createdAt' | 'createdBy'> & { createdBy: string };

/** Inserts unless the content is already stored; returns undefined when another upload won the race. */
export async function insertMediaAsset(db: Db, a: NewMediaAsset): Promise<MediaAsset | undefined> {
  const row = await db
    .insertInto('media_assets')
    .values({
      name: a.name,
      kind: a.kind,
      mimetype: a.mimetype,
      size_bytes: a.sizeBytes,
      sha256: a.sha256,
      storage_path: a.storagePath,
      original_filename: a.originalFilename,
      created_by: a.createdBy,
    })
    .onConflict((oc) => oc.column('sha256').doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ? toMediaAsset(row) : undefined;
}

export async function deleteMediaAsset(trx: Transaction<Database>, id: number): Promise<void> {
  await trx.deleteFrom('media_assets').where('id', '=', id).execute();
}

export interface MediaListFilter {
  kind?: MediaRef['kind'];
  limit?: number;
}

export async function listMediaAssets(db: Db, filter: MediaListFilter = {}): Promise<MediaAsset[]> {
  let q = db.selectFrom('media_assets').selectAll();
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  const rows = await q.orderBy('id', 'desc').limit(filter.limit ?? 500).execute();
  return rows.map(toMediaAsset);
}

export interface MediaUse {
  campaignId: number;
  campaignName: string;
  status: string;
  archived: boolean;
  /**
   * `media_asset_id` (the campaign's selected asset), `template` (a media-asset:// in its
   * template), `test_run` (a test-run snapshot), `queue_rows` / `test_run_rows` (the payload a
   * queue row or a test-run recipient keeps, rendered or fallback).
   */
  via: Array<'media_asset_id' | 'template' | 'test_run' | 'queue_rows' | 'test_run_rows'>;
}

/**
 * Campaigns that use an asset. promise 3: every stored reference counts, not only what the
 * campaign says today: its `media_asset_id`, a `media-asset://<id>` anywhere in its template or in
 * a test run's template snapshot, and the rendered and fallback payloads its queue rows and
 * test-run recipients keep forever (a DRAFT moved to another asset after a test run: the run's
 * rows still name the first one, and rows waiting to be sent resolve it at send time).
 *
 * Campaigns and test-run snapshots are few, so their JSON text is matched with a regular
 * expression (the one way to search every nesting of a template at once); the reference is
 * matched as a whole number (`media-asset://1` is not `media-asset://12`). Rows are many, so they
 * are found through campaign_media_refs(rendered_payload, fallback_payload) and its GIN
 * expression indexes (migration 0009): the same expression here, or the index is not used.
 */
export async function campaignsUsingMedia(db: Db, id: number): Promise<MediaUse[]> {
  const pattern = `${MEDIA_REF_SCHEME}${id}([^0-9]|$)`;
  const ref = sql`array[${id}::bigint]`;
  const rows = await sql<{
    id: number; name: string; status: string; archived: boolean;
    by_column: boolean; by_template: boolean; by_test_run: boolean; by_queue_rows: boolean; by_test_run_rows: boolean;
  }>`
    with queue_rows as (
      select distinct q.campaign_id from send_queue q
      where campaign_media_refs(q.rendered_payload, q.fallback_payload) @> ${ref}
    ),
    test_run_rows as (
      select distinct r.campaign_id from campaign_test_run_recipients t join campaign_test_runs r on r.id = t.test_run_id
      where campaign_media_refs(t.rendered_payload, t.fallback_payload) @> ${ref}
    ),
    test_runs as (
      select distinct r.campaign_id from campaign_test_runs r where r.template_json::text ~ ${pattern}
    )
    select c.id, c.name, c.status, c.archived,
      c.media_asset_id is not distinct from ${id}::bigint as by_column,
      c.template_json::text ~ ${pattern} as by_template,
      c.id in (select campaign_id from test_runs) as by_test_run,
      c.id in (select campaign_id from queue_rows) as by_queue_rows,
      c.id in (select campaign_id from test_run_rows) as by_test_run_rows
    from campaigns c
    where c.media_asset_id = ${id}::bigint
       or c.template_json::text ~ ${pattern}
       or c.id in (select campaign_id from test_runs)
       or c.id in (select campaign_id from queue_rows)
       or c.id in (select campaign_id from test_run_rows)
    order by c.id
  `.execute(db);
  const vias = ['by_column', 'by_template', 'by_test_run', 'by_queue_rows', 'by_test_run_rows'] as const;
  const names = { by_column: 'media_asset_id', by_template: 'template', by_test_run: 'test_run', by_queue_rows: 'queue_rows', by_test_run_rows: 'test_run_rows' } as const;
  return rows.rows.map((r) => ({
    campaignId: Number(r.id),
    campaignName: r.name,
    status: r.status,
    archived: r.archived,
    via: vias.filter((v) => r[v]).map((v) => names[v]),
  }));
}
