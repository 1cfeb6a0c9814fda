// What is sending now, read from the database only: every running or paused campaign and test
// run with real progress (rows by state), the latest worker decision that concerns it (its own
// events, or its session's pacing decisions) and when the next attempt is due. `campaign running`,
// `campaign status`, the API and the TUI all show this.
import { sql } from 'kysely';
import type { Context } from '../context.js';
import { RECIPIENT_STATES, type RecipientState } from '../db/schema.js';
import { forecast } from '../pacing/index.js';
import { getSettings } from '../settings/settings.service.js';
import { loadPacingState } from './claim-next.js';

export interface LatestDecision {
  event: string;
  reason: string | null;
  at: string;
  nextAttemptAt: string | null;
}

export interface RunningItem {
  kind: 'campaign' | 'test';
  id: number;
  campaignId: number;
  name: string;
  status: string;
  session: string;
  pauseReason: string | null;
  autoPaused: boolean;
  counts: Record<RecipientState, number>;
  total: number;
  /** Rows that reached a final state (sent, delivered, read, failed, skipped). */
  done: number;
  progress: number;
  unknown: number;
  latest: LatestDecision | null;
  forecastFinishAt: string | null;
}

const DONE: RecipientState[] = ['SENT_API_ACCEPTED', 'DELIVERED', 'READ', 'FAILED', 'SKIPPED'];

function emptyCounts(): Record<RecipientState, number> {
  return Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<RecipientState, number>;
}

export async function runningOverview(ctx: Context, options: { includeForecast?: boolean } = {}): Promise<{ at: string; items: RunningItem[] }> {
  const now = ctx.clock.now();
  const owners = await sql<{ kind: 'campaign' | 'test'; id: number; campaign_id: number; name: string; status: string; session: string; pause_reason: string | null; auto_paused: boolean; started_at: Date | null }>`
    select 'campaign' as kind, id, id as campaign_id, name, status, waha_session as session, pause_reason, auto_paused, started_at
    from campaigns where status in ('RUNNING','PAUSED')
    union all
    select 'test', t.id, t.campaign_id, c.name || ' (test ' || t.id || ' → ' || t.test_list_name || ')', t.status, t.waha_session, null, false, t.started_at
    from campaign_test_runs t join campaigns c on c.id = t.campaign_id where t.status in ('RUNNING','PAUSED')
    order by kind, id`.execute(ctx.db);
  if (owners.rows.length === 0) return { at: now.toISOString(), items: [] };

  const counts = await sql<{ kind: string; owner: number; status: RecipientState; n: number }>`
    select 'campaign' as kind, campaign_id as owner, status, count(*)::int as n from send_queue
    where campaign_id in (select id from campaigns where status in ('RUNNING','PAUSED')) group by campaign_id, status
    union all
    select 'test', test_run_id, status, count(*)::int from campaign_test_run_recipients
    where test_run_id in (select id from campaign_test_runs where status in ('RUNNING','PAUSED')) group by test_run_id, status`.execute(ctx.db);

  const settings = options.includeForecast === false ? undefined : await getSettings(ctx.db);
  const items: RunningItem[] = [];
  for (const o of owners.rows) {
    const c = emptyCounts();
    for (const r of counts.rows) if (r.kind === o.kind && Number(r.owner) === Number(o.id)) c[r.status] = r.n;
    const total = Object.values(c).reduce((a, b) => a + b, 0);
    const done = DONE.reduce((a, s) => a + c[s], 0);
    const ownerFilter = o.kind === 'campaign' ? sql`campaign_id = ${o.id}` : sql`test_run_id = ${o.id}`;
    const since = o.started_at ?? new Date(0);
    const latest = await sql<{ event: string; reason: string | null; at: Date; next_attempt_at: Date | null }>`
      select event, reason, at, next_attempt_at from worker_events
      where (${ownerFilter}) or (campaign_id is null and test_run_id is null and waha_session = ${o.session} and at >= ${since}
             and event in ('outside_window','daily_limit','hourly_limit','delay','block_pause','session_not_working','resumed'))
      order by id desc limit 1`.execute(ctx.db);
    const l = latest.rows[0];
    let forecastFinishAt: string | null = null;
    const remaining = c.PENDING + c.PAUSED;
    if (settings && o.status === 'RUNNING' && remaining > 0) {
      const state = await loadPacingState(ctx.db, o.session, settings, now);
      forecastFinishAt = forecast({ remaining, state, settings, now }).finishAt?.toISOString() ?? null;
    }
    items.push({
      kind: o.kind,
      id: Number(o.id),
      campaignId: Number(o.campaign_id),
      name: o.name,
      status: o.status,
      session: o.session,
      pauseReason: o.pause_reason,
      autoPaused: o.auto_paused,
      counts: c,
      total,
      done,
      progress: total === 0 ? 0 : done / total,
      unknown: c.UNKNOWN,
      latest: l ? { event: l.event, reason: l.reason, at: new Date(l.at).toISOString(), nextAttemptAt: l.next_attempt_at ? new Date(l.next_attempt_at).toISOString() : null } : null,
      forecastFinishAt,
    });
  }
  return { at: now.toISOString(), items };
}
