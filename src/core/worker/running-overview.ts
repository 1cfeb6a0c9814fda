// What is sending now, read from the database only: every running or paused campaign and test
// run with real progress (rows by state), the latest worker decision that concerns it (its own
// events, or its session's pacing decisions) and when the next attempt is due. `campaign running`,
// `campaign status`, the API and the TUI all show this.
import { sql } from 'kysely';
import type { Context } from '../context.js';
import { RECIPIENT_STATES, type RecipientState } from '../db/schema.js';
import { forecast } from '../pacing/index.js';
import type { Settings } from '../settings/settings.schema.js';
import { getSettings } from '../settings/settings.service.js';
import { loadPacingStates } from './claim-next.js';
import { FINAL_STATES } from './recipient-tables.js';

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


function emptyCounts(): Record<RecipientState, number> {
  return Object.fromEntries(RECIPIENT_STATES.map((s) => [s, 0])) as Record<RecipientState, number>;
}

/** A session's pacing decisions (no campaign or test run of their own) that explain an owner's wait. */
const SESSION_DECISIONS = ['outside_window', 'daily_limit', 'hourly_limit', 'delay', 'block_pause', 'session_not_working', 'resumed'];

interface OwnerRow {
  kind: 'campaign' | 'test';
  id: number;
  campaign_id: number;
  name: string;
  status: string;
  session: string;
  pause_reason: string | null;
  auto_paused: boolean;
  latest_event: string | null;
  latest_reason: string | null;
  latest_at: Date | null;
  latest_next_attempt_at: Date | null;
}

export interface RunningOverviewOptions {
  /** Forecast finish times (default true): a pacing simulation per running campaign. */
  includeForecast?: boolean;
  /** Settings the caller already read (statusSnapshot), so they are not read twice. */
  settings?: Settings;
}

export async function runningOverview(ctx: Context, options: RunningOverviewOptions = {}): Promise<{ at: string; items: RunningItem[] }> {
  const now = ctx.clock.now();
  // Every owner with its latest decision in one statement (a lateral look-up per owner rather
  // than one query each): its own events, or its session's pacing decisions since it started.
  const owners = await sql<OwnerRow>`
    with o as (
      select 'campaign' as kind, id, id as campaign_id, name, status, waha_session as session, pause_reason, auto_paused, started_at
      from campaigns where status in ('RUNNING','PAUSED')
      union all
      select 'test', t.id, t.campaign_id, c.name || ' (test ' || t.id || ' → ' || t.test_list_name || ')', t.status, t.waha_session, null, false, t.started_at
      from campaign_test_runs t join campaigns c on c.id = t.campaign_id where t.status in ('RUNNING','PAUSED')
    )
    select o.kind, o.id, o.campaign_id, o.name, o.status, o.session, o.pause_reason, o.auto_paused,
           l.event as latest_event, l.reason as latest_reason, l.at as latest_at, l.next_attempt_at as latest_next_attempt_at
    from o left join lateral (
      select event, reason, at, next_attempt_at from worker_events e
      where (o.kind = 'campaign' and e.campaign_id = o.id) or (o.kind = 'test' and e.test_run_id = o.id)
         or (e.campaign_id is null and e.test_run_id is null and e.waha_session = o.session
             and e.at >= coalesce(o.started_at, 'epoch'::timestamptz) and e.event = any(${SESSION_DECISIONS}::text[]))
      order by e.id desc limit 1
    ) l on true
    order by o.kind, o.id`.execute(ctx.db);
  if (owners.rows.length === 0) return { at: now.toISOString(), items: [] };

  const counts = await sql<{ kind: string; owner: number; status: RecipientState; n: number }>`
    select 'campaign' as kind, campaign_id as owner, status, count(*)::int as n from send_queue
    where campaign_id in (select id from campaigns where status in ('RUNNING','PAUSED')) group by campaign_id, status
    union all
    select 'test', test_run_id, status, count(*)::int from campaign_test_run_recipients
    where test_run_id in (select id from campaign_test_runs where status in ('RUNNING','PAUSED')) group by test_run_id, status`.execute(ctx.db);
  const countsByOwner = new Map<string, Record<RecipientState, number>>();
  for (const r of counts.rows) {
    const key = `${r.kind}:${Number(r.owner)}`;
    const c = countsByOwner.get(key) ?? emptyCounts();
    c[r.status] = r.n;
    countsByOwner.set(key, c);
  }
  const countsOf = (o: OwnerRow) => countsByOwner.get(`${o.kind}:${Number(o.id)}`) ?? emptyCounts();
  const remainingOf = (c: Record<RecipientState, number>) => c.PENDING + c.PAUSED;

  const settings = options.includeForecast === false ? undefined : (options.settings ?? (await getSettings(ctx.db)));
  // One pacing state per session that has something left to forecast, read together.
  const forecastable = settings ? owners.rows.filter((o) => o.status === 'RUNNING' && remainingOf(countsOf(o)) > 0) : [];
  const pacing = settings ? await loadPacingStates(ctx.db, forecastable.map((o) => o.session), settings, now) : new Map();

  const items = owners.rows.map((o): RunningItem => {
    const c = countsOf(o);
    const total = Object.values(c).reduce((a, b) => a + b, 0);
    const done = FINAL_STATES.reduce((a, s) => a + c[s], 0);
    const remaining = remainingOf(c);
    const state = pacing.get(o.session);
    const forecastFinishAt =
      settings && state && o.status === 'RUNNING' && remaining > 0 ? (forecast({ remaining, state, settings, now }).finishAt?.toISOString() ?? null) : null;
    return {
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
      latest:
        o.latest_event && o.latest_at
          ? { event: o.latest_event, reason: o.latest_reason, at: new Date(o.latest_at).toISOString(), nextAttemptAt: o.latest_next_attempt_at ? new Date(o.latest_next_attempt_at).toISOString() : null }
          : null,
      forecastFinishAt,
    };
  });
  return { at: now.toISOString(), items };
}
