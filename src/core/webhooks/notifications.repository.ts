// Notifications: what the webhook receiver and the worker raise for people (opt-outs, sessions
// that stopped working, auto-paused campaigns), read by the dashboard and its live stream.
// Kept beside the webhook receiver, their main writer, until a core/notifications exists.
import { sql } from 'kysely';
import type { Context } from '../context.js';
import { CampaignError } from '../errors.js';

export interface Notification {
  id: number;
  at: string;
  level: 'info' | 'warning' | 'error';
  kind: string;
  title: string;
  body: string | null;
  campaignId: number | null;
  testRunId: number | null;
  readAt: string | null;
}

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

function toNotification(r: any): Notification {
  return {
    id: Number(r.id), at: iso(r.at)!, level: r.level, kind: r.kind, title: r.title, body: r.body,
    campaignId: r.campaign_id === null ? null : Number(r.campaign_id), testRunId: r.test_run_id === null ? null : Number(r.test_run_id), readAt: iso(r.read_at),
  };
}

/** Newest first; with `afterId`, oldest first (for following). */
export async function listNotifications(ctx: Pick<Context, 'db'>, f: { unread?: boolean; afterId?: number; limit?: number } = {}): Promise<{ notifications: Notification[]; unread: number }> {
  let q = ctx.db.selectFrom('notifications').selectAll();
  if (f.unread) q = q.where('read_at', 'is', null);
  if (f.afterId !== undefined) q = q.where('id', '>', f.afterId);
  const rows = await q.orderBy('id', f.afterId !== undefined ? 'asc' : 'desc').limit(f.limit ?? 100).execute();
  const unread = await sql<{ n: number }>`select count(*)::int as n from notifications where read_at is null`.execute(ctx.db);
  return { notifications: rows.map(toNotification), unread: unread.rows[0]!.n };
}

export async function latestNotificationId(ctx: Pick<Context, 'db'>): Promise<number> {
  const r = await sql<{ id: number | null }>`select max(id) as id from notifications`.execute(ctx.db);
  return Number(r.rows[0]?.id ?? 0);
}

export async function markNotificationRead(ctx: Context, id: number): Promise<{ notification: Notification }> {
  const row = await ctx.db
    .updateTable('notifications')
    .set({ read_at: sql`coalesce(read_at, ${ctx.clock.now()})` as any })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new CampaignError('NOT_FOUND', `No notification has id ${id}.`, { id });
  return { notification: toNotification(row) };
}
