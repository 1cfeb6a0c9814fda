// The admin activity log: one row per mutation from any surface (CLI, API, dashboard, TUI).
// Written in the same transaction as the change it describes, so a failed change leaves no row.
import type { Kysely, Transaction } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import { scrubSecrets } from './scrub-secrets.js';

export interface ActivityEntry {
  actor: string;
  action: string;
  entityType?: string;
  entityId?: string | number;
  campaignId?: number | null;
  summary: string;
  details?: Record<string, unknown>;
}

export interface Activity {
  id: number;
  at: string;
  actor: string;
  action: string;
  entityType: string | null;
  entityId: string | null;
  campaignId: number | null;
  summary: string;
  details: Record<string, unknown>;
}

export function configSecrets(config: Config | undefined): string[] {
  if (!config) return [];
  return [config.supabaseServiceKey, config.wahaApiKey, config.dashboardApiToken, config.webhookHmacKey].filter(
    (s): s is string => typeof s === 'string',
  );
}

export async function recordActivity(db: Kysely<Database> | Transaction<Database>, entry: ActivityEntry, config?: Config): Promise<number> {
  const details = scrubSecrets(entry.details ?? {}, configSecrets(config));
  const row = await db
    .insertInto('admin_activity')
    .values({
      actor: entry.actor,
      action: entry.action,
      entity_type: entry.entityType ?? null,
      entity_id: entry.entityId === undefined ? null : String(entry.entityId),
      campaign_id: entry.campaignId ?? null,
      summary: scrubSecrets(entry.summary, configSecrets(config)),
      details: JSON.stringify(details),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface ActivityFilter {
  actor?: string;
  action?: string;
  campaignId?: number;
  since?: Date;
  limit?: number;
  offset?: number;
}

export async function listActivity(db: Kysely<Database>, filter: ActivityFilter = {}): Promise<Activity[]> {
  let q = db.selectFrom('admin_activity').selectAll();
  if (filter.actor) q = q.where('actor', '=', filter.actor);
  if (filter.action) q = filter.action.includes('*') || filter.action.endsWith('.')
    ? q.where('action', 'like', filter.action.replace(/\*/g, '%').replace(/\.$/, '.%'))
    : q.where('action', '=', filter.action);
  if (filter.campaignId !== undefined) q = q.where('campaign_id', '=', filter.campaignId);
  if (filter.since) q = q.where('at', '>=', filter.since);
  const rows = await q.orderBy('id', 'desc').limit(filter.limit ?? 100).offset(filter.offset ?? 0).execute();
  return rows.map(toActivity);
}

function toActivity(r: { id: number; at: Date; actor: string; action: string; entity_type: string | null; entity_id: string | null; campaign_id: number | null; summary: string; details: unknown }): Activity {
  return {
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action,
    entityType: r.entity_type,
    entityId: r.entity_id,
    campaignId: r.campaign_id,
    summary: r.summary,
    details: (r.details ?? {}) as Record<string, unknown>,
  };
}
