// The campaign lifecycle up to approval: create, apply, edit, approve, duplicate, archive,
// delete. Each mutation runs in one transaction with its audit row; a rule broken anywhere
// leaves nothing written.
import { sql, type Transaction } from 'kysely';
import { recordActivity } from '../audit/audit.repository.js';
import type { Context } from '../context.js';
import type { CampaignState, Database, RecipientState } from '../db/schema.js';
import { CampaignError } from '../errors.js';
import { getMediaRef, type MediaRef } from '../media/media.repository.js';
import { compileTemplate, contentHash } from '../templates/index.js';
import { type CampaignFile, parseCampaignFile } from './campaign.schema.js';
import {
  type Campaign,
  type CampaignListFilter,
  draftNamesLike,
  findDraftByName,
  getCampaign,
  latestByName,
  listCampaignRows,
  lockCampaign,
  toCampaign,
} from './campaign.repository.js';
import { FINAL_STATES } from '../worker/recipient-tables.js';
import { assertCanDo } from './campaign-transitions.js';

export interface CampaignResult {
  campaign: Campaign;
  warnings: string[];
}

export interface ApplyResult extends CampaignResult {
  action: 'created' | 'updated' | 'unchanged';
}

interface PreparedContent {
  template: Record<string, unknown>;
  templateMode: 'simple' | 'advanced';
  messageType: string;
  mediaAssetId: number | null;
  brand: string;
  session: string;
  hash: string;
  warnings: string[];
}

/** The hash approval records: everything that decides what a recipient receives. */
export function campaignContentHash(c: { brand: string; template: unknown; mediaAssetId: number | null }): string {
  return contentHash({ brand: c.brand, template: c.template, mediaAssetId: c.mediaAssetId ?? null });
}

async function prepare(trx: Transaction<Database>, file: CampaignFile): Promise<PreparedContent> {
  const mediaAssetId = file.mediaAssetId ?? null;
  let media: MediaRef | undefined;
  if (mediaAssetId !== null) media = await getMediaRef(trx, mediaAssetId);
  const compiled = compileTemplate(file.template, { media });
  const templateMode = (file.template.mode === 'simple' || (file.template.mode === undefined && !('payload' in file.template)) ? 'simple' : 'advanced') as
    | 'simple'
    | 'advanced';
  return {
    template: file.template,
    templateMode,
    messageType: compiled.messageType,
    mediaAssetId,
    brand: file.brand,
    session: file.session,
    hash: campaignContentHash({ brand: file.brand, template: file.template, mediaAssetId }),
    warnings: [...compiled.warnings].map((w) => (typeof w === 'string' ? w : `${(w as { path?: string }).path ?? ''}: ${(w as { message?: string }).message ?? ''}`)),
  };
}

async function freeDraftName(trx: Transaction<Database>, base: string): Promise<string> {
  const used = await draftNamesLike(trx, base);
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) {
    const candidate = `${base} (${i})`;
    if (!used.has(candidate)) return candidate;
  }
}

async function insertDraft(ctx: Context, trx: Transaction<Database>, name: string, content: PreparedContent, duplicatedFrom: number | null = null): Promise<Campaign> {
  const now = ctx.clock.now();
  const row = await trx
    .insertInto('campaigns')
    .values({
      name,
      brand: content.brand,
      waha_session: content.session,
      status: 'DRAFT',
      template_mode: content.templateMode,
      template_json: JSON.stringify(content.template),
      message_type: content.messageType,
      media_asset_id: content.mediaAssetId,
      content_hash: content.hash,
      duplicated_from: duplicatedFrom,
      created_at: now,
      created_by: ctx.actor,
      updated_at: now,
      updated_by: ctx.actor,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toCampaign(row);
}

export async function createCampaign(ctx: Context, input: unknown): Promise<CampaignResult> {
  const file = parseCampaignFile(input);
  return ctx.db.transaction().execute(async (trx) => {
    const content = await prepare(trx, file);
    const requested = file.name ?? `${file.brand} Campaign Draft`;
    if (file.name && (await findDraftByName(trx, file.name))) {
      throw new CampaignError(
        'ALREADY_EXISTS',
        `A DRAFT named "${file.name}" already exists. Use \`campaign apply --file\` to update it, or choose another name.`,
        { name: file.name },
      );
    }
    const name = file.name ?? (await freeDraftName(trx, requested));
    const campaign = await insertDraft(ctx, trx, name, content);
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: 'campaign.create',
        entityType: 'campaign',
        entityId: campaign.id,
        campaignId: campaign.id,
        summary: `Created draft "${campaign.name}" (${campaign.messageType}, brand ${campaign.brand})`,
        details: { name: campaign.name, brand: campaign.brand, session: campaign.session, messageType: campaign.messageType, contentHash: campaign.contentHash },
      },
      ctx.config,
    );
    return { campaign, warnings: content.warnings };
  });
}

/**
 * The one statement that writes a campaign's content. promise 3: the caller holds the row's lock
 * (lockCampaign) and has checked it is a DRAFT, and the UPDATE is conditional on it still being
 * an unfrozen DRAFT all the same, so no path (apply, edit, the API's PUT) can write content over
 * an approval, whatever it read before.
 */
async function updateDraft(ctx: Context, trx: Transaction<Database>, current: Campaign, file: CampaignFile, content: PreparedContent, action: string): Promise<Campaign> {
  const name = file.name ?? current.name;
  const row = await trx
    .updateTable('campaigns')
    .set({
      name,
      brand: content.brand,
      waha_session: content.session,
      template_mode: content.templateMode,
      template_json: JSON.stringify(content.template),
      message_type: content.messageType,
      media_asset_id: content.mediaAssetId,
      content_hash: content.hash,
      updated_at: ctx.clock.now(),
      updated_by: ctx.actor,
    })
    .where('id', '=', current.id)
    .where('status', '=', 'DRAFT')
    .where('content_frozen_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    const now = await trx.selectFrom('campaigns').select('status').where('id', '=', current.id).executeTakeFirst();
    assertCanDo({ id: current.id, status: now && now.status !== 'DRAFT' ? now.status : 'APPROVED' }, 'edit');
  }
  const campaign = toCampaign(row!);
  const changed = (['name', 'brand', 'session', 'messageType', 'mediaAssetId', 'contentHash'] as const).filter((k) => current[k] !== campaign[k]);
  await recordActivity(
    trx,
    {
      actor: ctx.actor,
      action,
      entityType: 'campaign',
      entityId: campaign.id,
      campaignId: campaign.id,
      summary: `Updated draft "${campaign.name}": ${changed.join(', ') || 'no visible change'}`,
      details: {
        changed,
        before: Object.fromEntries(changed.map((k) => [k, current[k]])),
        after: Object.fromEntries(changed.map((k) => [k, campaign[k]])),
      },
    },
    ctx.config,
  );
  return campaign;
}

function sameContent(c: Campaign, content: PreparedContent, name: string): boolean {
  return c.contentHash === content.hash && c.session === content.session && c.name === name;
}

/** Creates or updates the DRAFT of the file's name; applying the same file twice changes nothing. */
export async function applyCampaign(ctx: Context, input: unknown): Promise<ApplyResult> {
  const file = parseCampaignFile(input);
  if (!file.name) {
    throw new CampaignError('VALIDATION_FAILED', 'The campaign file is not valid: name: is required by `campaign apply`, which finds the draft by its name.', {
      issues: [{ path: 'name', message: 'is required by campaign apply' }],
    });
  }
  const name = file.name;
  return ctx.db.transaction().execute(async (trx) => {
    // Two CI jobs applying the same file at once must not create two drafts.
    await sql`select pg_advisory_xact_lock(hashtext(${`campaign.apply:${name}`}))`.execute(trx);
    const content = await prepare(trx, file);
    // promise 3: the draft found by name is locked and read again before it is compared or
    // written: an approval that committed after the first read has frozen it, and then the file
    // is compared with the approved content below (unchanged, or CONTENT_FROZEN).
    const found = await findDraftByName(trx, name);
    const locked = found ? await lockCampaign(trx, found.id) : undefined;
    const draft = locked && locked.status === 'DRAFT' && !locked.contentFrozen && !locked.archived && locked.name === name ? locked : undefined;
    if (draft) {
      if (sameContent(draft, content, name)) return { action: 'unchanged' as const, campaign: draft, warnings: content.warnings };
      const campaign = await updateDraft(ctx, trx, draft, file, content, 'campaign.apply');
      return { action: 'updated' as const, campaign, warnings: content.warnings };
    }
    const existing = await latestByName(trx, name);
    if (existing && existing.status !== 'CANCELLED') {
      if (existing.contentHash === content.hash && existing.session === content.session) {
        return { action: 'unchanged' as const, campaign: existing, warnings: content.warnings };
      }
      throw new CampaignError(
        'CONTENT_FROZEN',
        `Campaign ${existing.id} "${name}" is ${existing.status} and its content is frozen, but the file differs. Rename the campaign in the file, or run \`campaign duplicate ${existing.id}\` and edit the copy.`,
        { campaignId: existing.id, status: existing.status },
      );
    }
    const campaign = await insertDraft(ctx, trx, name, content);
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: 'campaign.create',
        entityType: 'campaign',
        entityId: campaign.id,
        campaignId: campaign.id,
        summary: `Created draft "${campaign.name}" from apply (${campaign.messageType}, brand ${campaign.brand})`,
        details: { name: campaign.name, brand: campaign.brand, session: campaign.session, messageType: campaign.messageType, contentHash: campaign.contentHash },
      },
      ctx.config,
    );
    return { action: 'created' as const, campaign, warnings: content.warnings };
  });
}

export async function editCampaign(ctx: Context, ref: string, input: unknown): Promise<CampaignResult> {
  const file = parseCampaignFile(input);
  return ctx.db.transaction().execute(async (trx) => {
    const current = await lockCampaign(trx, ref);
    assertCanDo(current, 'edit');
    if (current.contentFrozen) assertCanDo({ ...current, status: 'APPROVED' }, 'edit');
    const content = await prepare(trx, file);
    if (file.name && file.name !== current.name) {
      const clash = await findDraftByName(trx, file.name);
      if (clash && clash.id !== current.id) {
        throw new CampaignError('ALREADY_EXISTS', `Another DRAFT (id ${clash.id}) is named "${file.name}"; choose another name.`, { name: file.name });
      }
    }
    if (sameContent(current, content, file.name ?? current.name)) return { campaign: current, warnings: content.warnings };
    const campaign = await updateDraft(ctx, trx, current, file, content, 'campaign.update');
    return { campaign, warnings: content.warnings };
  });
}

export async function approveCampaign(ctx: Context, ref: string): Promise<Campaign> {
  return ctx.db.transaction().execute(async (trx) => {
    const current = await lockCampaign(trx, ref);
    assertCanDo(current, 'approve');
    // Re-validate at approval: a media asset or rule may have changed since the draft was saved.
    const content = await prepare(trx, { name: current.name, brand: current.brand, session: current.session, template: current.template, mediaAssetId: current.mediaAssetId });
    const now = ctx.clock.now();
    const row = await trx
      .updateTable('campaigns')
      .set({
        status: 'APPROVED',
        approved_at: now,
        approved_by: ctx.actor,
        approved_content_hash: content.hash,
        content_hash: content.hash,
        // promise 3: content freezes at approval.
        content_frozen_at: now,
        updated_at: now,
        updated_by: ctx.actor,
      })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const campaign = toCampaign(row);
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: 'campaign.approve',
        entityType: 'campaign',
        entityId: campaign.id,
        campaignId: campaign.id,
        summary: `Approved "${campaign.name}"; content frozen (hash ${content.hash.slice(0, 12)})`,
        details: { contentHash: content.hash, approvedBy: ctx.actor },
      },
      ctx.config,
    );
    return campaign;
  });
}

export async function duplicateCampaign(ctx: Context, ref: string, options: { name?: string } = {}): Promise<Campaign> {
  return ctx.db.transaction().execute(async (trx) => {
    const source = await getCampaign(trx, ref);
    const content: PreparedContent = {
      template: source.template,
      templateMode: source.templateMode,
      messageType: source.messageType,
      mediaAssetId: source.mediaAssetId,
      brand: source.brand,
      session: source.session,
      hash: source.contentHash,
      warnings: [],
    };
    let name: string;
    if (options.name) {
      if (await findDraftByName(trx, options.name)) {
        throw new CampaignError('ALREADY_EXISTS', `A DRAFT named "${options.name}" already exists; choose another name.`, { name: options.name });
      }
      name = options.name;
    } else {
      name = await freeDraftName(trx, `${source.name.replace(/ \(copy( \d+)?\)$/, '')} (copy)`);
    }
    const campaign = await insertDraft(ctx, trx, name, content, source.id);
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: 'campaign.duplicate',
        entityType: 'campaign',
        entityId: campaign.id,
        campaignId: campaign.id,
        summary: `Duplicated campaign ${source.id} "${source.name}" into draft ${campaign.id} "${campaign.name}"`,
        details: { sourceId: source.id },
      },
      ctx.config,
    );
    return campaign;
  });
}

export async function archiveCampaign(ctx: Context, ref: string, archived = true): Promise<Campaign> {
  return ctx.db.transaction().execute(async (trx) => {
    const current = await lockCampaign(trx, ref);
    if (archived && (current.status === 'RUNNING' || current.status === 'PAUSED')) {
      throw new CampaignError(
        'INVALID_TRANSITION',
        `Campaign ${current.id} is ${current.status}; cancel it first (\`campaign cancel ${current.id}\`), then archive it.`,
        { campaignId: current.id, status: current.status },
      );
    }
    if (current.archived === archived) return current;
    const row = await trx
      .updateTable('campaigns')
      .set({ archived, updated_at: ctx.clock.now(), updated_by: ctx.actor })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const campaign = toCampaign(row);
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: archived ? 'campaign.archive' : 'campaign.unarchive',
        entityType: 'campaign',
        entityId: campaign.id,
        campaignId: campaign.id,
        summary: `${archived ? 'Archived' : 'Unarchived'} "${campaign.name}"`,
      },
      ctx.config,
    );
    return campaign;
  });
}

export async function deleteCampaign(ctx: Context, ref: string): Promise<{ deleted: { id: number; name: string } }> {
  return ctx.db.transaction().execute(async (trx) => {
    const current = await lockCampaign(trx, ref);
    assertCanDo(current, 'delete');
    const used = await trx
      .selectNoFrom((eb) => [
        eb.selectFrom('send_queue').select(eb.fn.countAll<number>().as('n')).where('campaign_id', '=', current.id).as('queue'),
        eb.selectFrom('campaign_test_runs').select(eb.fn.countAll<number>().as('n')).where('campaign_id', '=', current.id).as('tests'),
      ])
      .executeTakeFirstOrThrow();
    if (Number(used.queue) > 0 || Number(used.tests) > 0) {
      throw new CampaignError(
        'IN_USE',
        `Campaign ${current.id} has ${used.tests} test run(s) and ${used.queue} queue row(s); their history is kept. Run \`campaign archive ${current.id}\` to hide it instead.`,
        { campaignId: current.id, testRuns: used.tests, queueRows: used.queue },
      );
    }
    await trx.deleteFrom('campaigns').where('id', '=', current.id).execute();
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: 'campaign.delete',
        entityType: 'campaign',
        entityId: current.id,
        campaignId: current.id,
        summary: `Deleted empty draft "${current.name}"`,
        details: { name: current.name, brand: current.brand, contentHash: current.contentHash },
      },
      ctx.config,
    );
    return { deleted: { id: current.id, name: current.name } };
  });
}

export interface CampaignDetail extends Campaign {
  queue: Record<string, number>;
  testRuns: number;
}

export async function showCampaign(ctx: Context, ref: string): Promise<CampaignDetail> {
  const campaign = await getCampaign(ctx.db, ref);
  const counts = await ctx.db
    .selectFrom('send_queue')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('campaign_id', '=', campaign.id)
    .groupBy('status')
    .execute();
  const tests = await ctx.db
    .selectFrom('campaign_test_runs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('campaign_id', '=', campaign.id)
    .executeTakeFirstOrThrow();
  return { ...campaign, queue: Object.fromEntries(counts.map((c) => [c.status, Number(c.n)])), testRuns: Number(tests.n) };
}

export interface CampaignListItem {
  id: number;
  name: string;
  brand: string;
  session: string;
  status: CampaignState;
  messageType: string;
  archived: boolean;
  contentFrozen: boolean;
  updatedAt: string;
  /** Rows of the built queue in a final state, of all rows; null before the queue is built. */
  progress: { done: number; total: number } | null;
}

export async function listCampaigns(ctx: Context, filter: CampaignListFilter = {}): Promise<{ campaigns: CampaignListItem[] }> {
  const rows = await listCampaignRows(ctx.db, filter);
  // Progress for every listed campaign in one grouped query (a list never costs a query per row).
  const ids = rows.map((c) => c.id);
  const progress = new Map<number, { done: number; total: number }>();
  if (ids.length > 0) {
    const r = await sql<{ campaign_id: number; done: number; total: number }>`
      select campaign_id, count(*) filter (where status = any(${FINAL_STATES as RecipientState[]}::text[]))::int as done, count(*)::int as total
      from send_queue where campaign_id = any(${ids}::bigint[]) group by campaign_id`.execute(ctx.db);
    for (const p of r.rows) progress.set(Number(p.campaign_id), { done: p.done, total: p.total });
  }
  return {
    campaigns: rows.map((c) => ({
      id: c.id,
      name: c.name,
      brand: c.brand,
      session: c.session,
      status: c.status,
      messageType: c.messageType,
      archived: c.archived,
      contentFrozen: c.contentFrozen,
      updatedAt: c.updatedAt,
      progress: progress.get(c.id) ?? null,
    })),
  };
}
