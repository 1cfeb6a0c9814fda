// One screen of truth, as data: components, each WAHA session's pacing against its limits,
// what is running, and what needs a person. `campaign status`, `campaign tui`, the API's
// /api/overview and the dashboard all show this one object; none computes its own.
import { sql } from 'kysely';
import type { CrmSource } from '../audience/crm-source.js';
import type { Clock } from '../clock.js';
import type { Context } from '../context.js';
import { getSettings } from '../settings/settings.service.js';
import type { WahaSession } from '../waha/waha-client.js';
import { runningOverview } from '../worker/running-overview.js';
import { attentionItems } from './attention-items.js';
import { type Probe, probeCrm, probeDatabase, probeWaha, type WahaSessionSource } from './component-probes.js';
import { sessionStatuses } from './session-status.js';
import type { ComponentStatus, ReadyCampaign, StatusSnapshot, WorkerStatus } from './status-types.js';

/** Three missed heartbeats at the worker's default 5 s, with margin for a slow database. */
export const DEFAULT_STALE_AFTER_MS = 30_000;
/** Workers silent for longer than this are history, not status. */
const WORKER_HISTORY_MS = 24 * 3_600_000;

export interface StatusOptions {
  /** WAHA, when configured; its sessions are listed (one request). */
  waha?: WahaSessionSource;
  /** The instant to judge pacing at (default: the context's clock). */
  now?: Date;
  /** A heartbeat older than this, from a worker that did not stop, is stale. */
  staleAfterMs?: number;
  /** Ping the CRM when SUPABASE_URL is set (default true); the TUI pings it less often. */
  checkCrm?: boolean;
  crm?: CrmSource;
  /** Forecast finish times of running campaigns (default true). */
  includeForecast?: boolean;
  timeoutMs?: number;
}

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export function component(p: Omit<ComponentStatus, 'ok'> & { ok?: boolean }): ComponentStatus {
  return { ...p, ok: p.ok ?? (p.state === 'up' || p.state === 'info') };
}

export function fromProbe(name: string, kind: ComponentStatus['kind'], probe: Probe<unknown>, required: boolean, upDetail: string | null = null): ComponentStatus {
  return component({ name, kind, state: probe.ok ? 'up' : 'down', latencyMs: probe.latencyMs, detail: probe.ok ? upDetail : probe.detail, required });
}

export async function loadWorkers(ctx: Context, now: Date, staleAfterMs: number): Promise<WorkerStatus[]> {
  const rows = await ctx.db
    .selectFrom('worker_heartbeats')
    .selectAll()
    .where('last_seen_at', '>=', new Date(now.getTime() - WORKER_HISTORY_MS))
    .orderBy('last_seen_at', 'desc')
    .execute();
  return rows.map((w) => {
    const ageMs = Math.max(0, now.getTime() - new Date(w.last_seen_at).getTime());
    const stopped = w.state === 'stopped';
    return {
      name: w.name,
      host: w.host,
      pid: Number(w.pid),
      version: w.version,
      state: w.state,
      detail: w.detail,
      startedAt: iso(w.started_at)!,
      lastSeenAt: iso(w.last_seen_at)!,
      ageMs,
      stale: !stopped && ageMs > staleAfterMs,
      stopped,
    };
  });
}

export function workersComponent(workers: WorkerStatus[], somethingRunning: boolean): ComponentStatus {
  const live = workers.filter((w) => !w.stale && !w.stopped).length;
  const stale = workers.filter((w) => w.stale).length;
  const detail = `${live} live${stale ? `, ${stale} stale` : ''}${live === 0 && somethingRunning ? '; something is RUNNING and nothing sends it' : ''}`;
  return component({ name: 'workers', kind: 'workers', state: live > 0 ? 'up' : somethingRunning ? 'down' : 'info', latencyMs: null, detail, required: false });
}

export async function lastWebhookAt(ctx: Context): Promise<string | null> {
  const r = await sql<{ at: Date | null }>`select max(received_at) as at from message_events`.execute(ctx.db);
  return iso(r.rows[0]?.at ?? null);
}

export function webhookComponent(at: string | null): ComponentStatus {
  return component({ name: 'webhook', kind: 'webhook', state: 'info', latencyMs: null, detail: at ? `last event received ${at}` : 'no WAHA event received yet', required: false });
}

async function readyCampaigns(ctx: Context): Promise<ReadyCampaign[]> {
  const r = await sql<{ id: number; name: string; waha_session: string; queue_built_at: Date | null; pending: number }>`
    select c.id, c.name, c.waha_session, c.queue_built_at,
           (select count(*) from send_queue q where q.campaign_id = c.id and q.status = 'PENDING')::int as pending
    from campaigns c where c.status = 'APPROVED' and not c.archived order by c.id limit 50`.execute(ctx.db);
  return r.rows.map((c) => ({
    kind: 'campaign',
    id: Number(c.id),
    campaignId: Number(c.id),
    name: c.name,
    status: 'APPROVED',
    session: c.waha_session,
    queueBuiltAt: iso(c.queue_built_at),
    pending: c.pending,
  }));
}

async function unknownByCampaign(ctx: Context): Promise<Array<{ campaignId: number; name: string; rows: number }>> {
  const r = await sql<{ campaign_id: number; name: string; n: number }>`
    select u.campaign_id, c.name, count(*)::int as n from (
      select campaign_id from send_queue where status = 'UNKNOWN'
      union all
      select t.campaign_id from campaign_test_run_recipients r join campaign_test_runs t on t.id = r.test_run_id where r.status = 'UNKNOWN'
    ) u join campaigns c on c.id = u.campaign_id
    group by u.campaign_id, c.name order by u.campaign_id`.execute(ctx.db);
  return r.rows.map((x) => ({ campaignId: Number(x.campaign_id), name: x.name, rows: x.n }));
}

async function unreadErrors(ctx: Context) {
  // The newest ten and how many there are, in one statement (the window count is taken before the limit).
  const rows = await ctx.db
    .selectFrom('notifications')
    .select(['id', 'at', 'kind', 'title', 'body', 'campaign_id', 'test_run_id'])
    .select(sql<number>`count(*) over ()`.as('total'))
    .where('level', '=', 'error')
    .where('read_at', 'is', null)
    .orderBy('id', 'desc')
    .limit(10)
    .execute();
  return {
    total: Number(rows[0]?.total ?? 0),
    rows: rows.map((n) => ({
      id: Number(n.id),
      at: iso(n.at)!,
      kind: n.kind,
      title: n.title,
      body: n.body,
      campaignId: n.campaign_id === null ? null : Number(n.campaign_id),
      testRunId: n.test_run_id === null ? null : Number(n.test_run_id),
    })),
  };
}

/** A context whose clock reads `now`, so every part of one snapshot judges the same instant. */
function atInstant(ctx: Context, now: Date): Context {
  const clock: Clock = { now: () => now, sleep: (ms, signal) => ctx.clock.sleep(ms, signal) };
  return { ...ctx, clock };
}

export async function statusSnapshot(ctx: Context, options: StatusOptions = {}): Promise<StatusSnapshot> {
  const now = options.now ?? ctx.clock.now();
  const c = atInstant(ctx, now);
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const config = ctx.config;
  const wahaConfigured = options.waha !== undefined || Boolean(config.wahaBaseUrl);
  const checkCrm = options.checkCrm !== false && Boolean(config.supabaseUrl);

  const [db, wahaProbe, crmProbe] = await Promise.all([
    probeDatabase(ctx.db, options.timeoutMs),
    options.waha ? probeWaha(options.waha, options.timeoutMs) : Promise.resolve(undefined),
    checkCrm ? probeCrm(config, { crm: options.crm, timeoutMs: options.timeoutMs }) : Promise.resolve(undefined),
  ]);
  // The snapshot reads the database; when it is down the caller gets the error (health reports it).
  if (!db.ok) await sql`select 1`.execute(ctx.db);

  const settings = await getSettings(ctx.db);
  const wahaSessions: WahaSession[] | null = wahaProbe?.ok ? (wahaProbe.value ?? []) : null;
  const [running, ready, sessions, workers, webhookAt, unknown, errors] = await Promise.all([
    runningOverview(c, { includeForecast: options.includeForecast, settings }),
    readyCampaigns(c),
    sessionStatuses(c, settings, now, wahaSessions),
    loadWorkers(c, now, staleAfterMs),
    lastWebhookAt(c),
    unknownByCampaign(c),
    unreadErrors(c),
  ]);

  const components: ComponentStatus[] = [fromProbe('database', 'database', db, true)];
  if (config.supabaseUrl) {
    components.push(
      crmProbe
        ? fromProbe('crm', 'crm', crmProbe, true, config.supabaseUrl)
        : component({ name: 'crm', kind: 'crm', state: 'info', latencyMs: null, detail: 'not checked in this snapshot', required: true }),
    );
  } else {
    components.push(component({ name: 'crm', kind: 'crm', state: 'not_configured', ok: false, latencyMs: null, detail: 'SUPABASE_URL is not set', required: false }));
  }
  if (options.waha && wahaProbe) {
    components.push(fromProbe('waha', 'waha', wahaProbe, true, `${options.waha.baseUrl}: ${wahaSessions?.length ?? 0} session(s)`));
  } else if (wahaConfigured) {
    components.push(component({ name: 'waha', kind: 'waha', state: 'info', latencyMs: null, detail: 'not checked in this snapshot', required: true }));
  } else {
    components.push(component({ name: 'waha', kind: 'waha', state: 'not_configured', ok: false, latencyMs: null, detail: 'WAHA_BASE_URL is not set', required: false }));
  }
  for (const s of sessions) {
    if (s.inWaha === null) continue;
    components.push(
      component({
        name: `session ${s.name}`,
        kind: 'session',
        state: s.wahaStatus === 'WORKING' ? 'up' : 'down',
        latencyMs: null,
        detail: s.inWaha ? `${s.wahaStatus}${s.me ? ` as ${s.me}` : ''}` : 'not listed by WAHA',
        required: s.inUse,
      }),
    );
  }
  const anythingRunning = running.items.some((i) => i.status === 'RUNNING');
  components.push(workersComponent(workers, anythingRunning));
  components.push(webhookComponent(webhookAt));

  const attention = attentionItems({
    components,
    sessions,
    running: running.items,
    workers,
    unknown,
    notifications: errors.rows,
    unreadErrors: errors.total,
    staleAfterMs,
  });
  return {
    at: now.toISOString(),
    timezone: settings.timezone,
    ok: components.every((x) => !x.required || x.ok),
    components,
    workers,
    lastWebhookAt: webhookAt,
    waha: {
      configured: wahaConfigured,
      baseUrl: options.waha?.baseUrl ?? config.wahaBaseUrl ?? null,
      reachable: wahaProbe ? wahaProbe.ok : null,
      error: wahaProbe && !wahaProbe.ok ? wahaProbe.detail : null,
    },
    sessions,
    running: running.items,
    ready,
    attention,
  };
}
