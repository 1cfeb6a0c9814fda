// Reading worker_events back: `campaign logs`, the API's worker logs and the TUI's event stream.
import { sql } from 'kysely';
import type { Context } from '../context.js';
import { WORKER_EVENTS } from '../db/schema.js';
import { closest } from '../did-you-mean.js';
import { CampaignError } from '../errors.js';

export interface WorkerEventRow {
  id: number;
  at: string;
  event: string;
  worker: string | null;
  session: string | null;
  campaignId: number | null;
  testRunId: number | null;
  queueId: number | null;
  testRecipientId: number | null;
  status: string | null;
  reason: string | null;
  nextAttemptAt: string | null;
  details: Record<string, unknown>;
}

export interface WorkerEventFilter {
  campaignId?: number;
  testRunId?: number;
  events?: string[];
  session?: string;
  since?: Date;
  /** Only events after this id (for following). */
  afterId?: number;
  limit?: number;
}

export function checkEventNames(names: string[]): string[] {
  for (const n of names) {
    if (!(WORKER_EVENTS as readonly string[]).includes(n)) {
      const near = closest(n, WORKER_EVENTS);
      throw new CampaignError('USAGE', `--event "${n}" is not a worker event${near ? `: did you mean ${near}?` : ''} (events: ${WORKER_EVENTS.join(', ')})`, { event: n });
    }
  }
  return names;
}

/** Newest first, unless following (afterId), which returns oldest first. */
export async function listWorkerEvents(ctx: Context, f: WorkerEventFilter = {}): Promise<WorkerEventRow[]> {
  const where = [sql`true`];
  if (f.campaignId !== undefined) where.push(sql`campaign_id = ${f.campaignId}`);
  if (f.testRunId !== undefined) where.push(sql`test_run_id = ${f.testRunId}`);
  if (f.events && f.events.length > 0) where.push(sql`event = any(${f.events}::text[])`);
  if (f.session) where.push(sql`waha_session = ${f.session}`);
  if (f.since) where.push(sql`at >= ${f.since}`);
  if (f.afterId !== undefined) where.push(sql`id > ${f.afterId}`);
  const order = f.afterId !== undefined ? sql`id asc` : sql`id desc`;
  const r = await sql<any>`
    select id, at, event, worker, waha_session, campaign_id, test_run_id, queue_id, test_recipient_id, status, reason, next_attempt_at, details
    from worker_events where ${sql.join(where, sql` and `)} order by ${order} limit ${f.limit ?? 100}`.execute(ctx.db);
  return r.rows.map((e) => ({
    id: Number(e.id),
    at: new Date(e.at).toISOString(),
    event: e.event,
    worker: e.worker,
    session: e.waha_session,
    campaignId: e.campaign_id === null ? null : Number(e.campaign_id),
    testRunId: e.test_run_id === null ? null : Number(e.test_run_id),
    queueId: e.queue_id === null ? null : Number(e.queue_id),
    testRecipientId: e.test_recipient_id === null ? null : Number(e.test_recipient_id),
    status: e.status,
    reason: e.reason,
    nextAttemptAt: e.next_attempt_at ? new Date(e.next_attempt_at).toISOString() : null,
    details: e.details ?? {},
  }));
}
