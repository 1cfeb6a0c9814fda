// Every query on campaigns. `find*` returns undefined, `get*` throws CAMPAIGN_NOT_FOUND,
// `lock*` takes a transaction and means FOR UPDATE.
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { CampaignsTable, CampaignState, Database } from '../db/schema.js';
import { closest } from '../did-you-mean.js';
import { CampaignError } from '../errors.js';

type Db = Kysely<Database> | Transaction<Database>;
type Row = Selectable<CampaignsTable>;

export interface Campaign {
  id: number;
  name: string;
  brand: string;
  session: string;
  status: CampaignState;
  archived: boolean;
  templateMode: 'simple' | 'advanced';
  template: Record<string, unknown>;
  messageType: string;
  mediaAssetId: number | null;
  contentHash: string;
  /** promise 3: once set, the template, brand and media never change. */
  contentFrozen: boolean;
  contentFrozenAt: string | null;
  approvedAt: string | null;
  approvedBy: string | null;
  approvedContentHash: string | null;
  queueBuiltAt: string | null;
  startedAt: string | null;
  pausedAt: string | null;
  pauseReason: string | null;
  autoPaused: boolean;
  completedAt: string | null;
  cancelledAt: string | null;
  cancelReason: string | null;
  duplicatedFrom: number | null;
  createdAt: string;
  createdBy: string | null;
  updatedAt: string;
  updatedBy: string | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toCampaign(r: Row): Campaign {
  return {
    id: r.id,
    name: r.name,
    brand: r.brand,
    session: r.waha_session,
    status: r.status,
    archived: r.archived,
    templateMode: r.template_mode,
    template: r.template_json as Record<string, unknown>,
    messageType: r.message_type,
    mediaAssetId: r.media_asset_id,
    contentHash: r.content_hash,
    contentFrozen: r.content_frozen_at !== null,
    contentFrozenAt: iso(r.content_frozen_at),
    approvedAt: iso(r.approved_at),
    approvedBy: r.approved_by,
    approvedContentHash: r.approved_content_hash,
    queueBuiltAt: iso(r.queue_built_at),
    startedAt: iso(r.started_at),
    pausedAt: iso(r.paused_at),
    pauseReason: r.pause_reason,
    autoPaused: r.auto_paused,
    completedAt: iso(r.completed_at),
    cancelledAt: iso(r.cancelled_at),
    cancelReason: r.cancel_reason,
    duplicatedFrom: r.duplicated_from,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    updatedAt: r.updated_at.toISOString(),
    updatedBy: r.updated_by,
  };
}

/** A campaign reference from a person: its id, or its exact name when that is unambiguous. */
export async function findCampaignId(db: Db, ref: string | number): Promise<number | undefined> {
  const text = String(ref).trim();
  // Digits beyond any bigint id are tried as a name only (they would overflow the query).
  if (/^\d+$/.test(text) && Number.isSafeInteger(Number(text))) {
    const row = await db.selectFrom('campaigns').select('id').where('id', '=', Number(text)).executeTakeFirst();
    if (row) return row.id;
  }
  const rows = await db.selectFrom('campaigns').select(['id', 'archived']).where('name', '=', text).orderBy('id', 'desc').execute();
  if (rows.length === 0) return undefined;
  const live = rows.filter((r) => !r.archived);
  if (live.length === 1 || (live.length === 0 && rows.length === 1)) return (live[0] ?? rows[0])!.id;
  throw new CampaignError(
    'USAGE',
    `Several campaigns are named "${text}" (ids ${rows.map((r) => r.id).join(', ')}); use the id.`,
    { ids: rows.map((r) => r.id) },
  );
}

export async function getCampaignId(db: Db, ref: string | number): Promise<number> {
  const id = await findCampaignId(db, ref);
  if (id !== undefined) return id;
  const names = await db.selectFrom('campaigns').select('name').where('archived', '=', false).limit(500).execute();
  const near = closest(String(ref), names.map((n) => n.name));
  throw new CampaignError(
    'CAMPAIGN_NOT_FOUND',
    `No campaign has the id or name "${ref}"${near ? ` (did you mean "${near}"?)` : ''}. \`campaign list\` shows them.`,
    { ref: String(ref) },
  );
}

export async function getCampaign(db: Db, ref: string | number): Promise<Campaign> {
  const id = await getCampaignId(db, ref);
  const row = await db.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return toCampaign(row);
}

export async function lockCampaign(trx: Transaction<Database>, ref: string | number): Promise<Campaign> {
  const id = await getCampaignId(trx, ref);
  const row = await trx.selectFrom('campaigns').selectAll().where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
  return toCampaign(row);
}

export async function findDraftByName(db: Db, name: string): Promise<Campaign | undefined> {
  const row = await db
    .selectFrom('campaigns')
    .selectAll()
    .where('name', '=', name)
    .where('status', '=', 'DRAFT')
    .where('archived', '=', false)
    .executeTakeFirst();
  return row ? toCampaign(row) : undefined;
}

export async function latestByName(db: Db, name: string): Promise<Campaign | undefined> {
  const row = await db.selectFrom('campaigns').selectAll().where('name', '=', name).where('archived', '=', false).orderBy('id', 'desc').executeTakeFirst();
  return row ? toCampaign(row) : undefined;
}

export interface CampaignListFilter {
  status?: CampaignState[];
  archived?: boolean;
  search?: string;
  limit?: number;
  offset?: number;
}

export async function listCampaignRows(db: Db, f: CampaignListFilter): Promise<Campaign[]> {
  let q = db.selectFrom('campaigns').selectAll();
  if (f.status && f.status.length > 0) q = q.where('status', 'in', f.status);
  q = q.where('archived', '=', f.archived ?? false);
  if (f.search) {
    const like = `%${f.search.replace(/[%_\\]/g, (m) => `\\${m}`)}%`;
    q = q.where((eb) => eb.or([eb('name', 'ilike', like), eb('brand', 'ilike', like)]));
  }
  const rows = await q.orderBy('id', 'desc').limit(f.limit ?? 200).offset(f.offset ?? 0).execute();
  return rows.map(toCampaign);
}

/** Names already used by live drafts, for choosing a free default name. */
export async function draftNamesLike(db: Db, prefix: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('campaigns')
    .select('name')
    .where('status', '=', 'DRAFT')
    .where('archived', '=', false)
    .where('name', 'like', `${prefix.replace(/[%_\\]/g, (m) => `\\${m}`)}%`)
    .execute();
  return new Set(rows.map((r) => r.name));
}
