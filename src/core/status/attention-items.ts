// What an operator should look at now, worst first. Pure: built from facts the snapshot loaded,
// so the rules (what counts, what to run about it) are testable without a database.
import type { AttentionItem, ComponentStatus, RunningItem, SessionStatus, WorkerStatus } from './status-types.js';

export interface AttentionFacts {
  components: ComponentStatus[];
  sessions: SessionStatus[];
  running: RunningItem[];
  workers: WorkerStatus[];
  unknown: Array<{ campaignId: number; name: string; rows: number }>;
  notifications: Array<{ id: number; at: string; kind: string; title: string; body: string | null; campaignId: number | null; testRunId: number | null }>;
  unreadErrors: number;
  staleAfterMs: number;
}

function item(partial: Partial<AttentionItem> & Pick<AttentionItem, 'kind' | 'severity' | 'title' | 'detail'>): AttentionItem {
  return { command: null, campaignId: null, testRunId: null, session: null, worker: null, at: null, ...partial };
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

export function attentionItems(f: AttentionFacts): AttentionItem[] {
  const out: AttentionItem[] = [];
  for (const c of f.components) {
    if (c.kind !== 'session' && c.kind !== 'workers' && c.state === 'down') {
      out.push(item({ kind: 'component_down', severity: c.required ? 'error' : 'warning', title: `${c.name} is down`, detail: c.detail ?? 'no answer', command: 'campaign health' }));
    }
  }
  for (const s of f.sessions) {
    // A session WAHA lists as not WORKING, or one a running campaign needs, or one the worker holds.
    const notWorking = (s.inWaha === true && s.wahaStatus !== 'WORKING') || s.notWorkingReason !== null || (s.inUse && s.inWaha === false);
    if (!notWorking) continue;
    const failed = s.wahaStatus === 'FAILED' || s.wahaStatus === 'STOPPED' || s.inWaha === false;
    out.push(
      item({
        kind: 'session_not_working',
        severity: failed || s.inUse ? 'error' : 'warning',
        title: `session ${s.name} is ${s.inWaha === false ? 'missing from WAHA' : (s.wahaStatus ?? 'not working')}`,
        detail: `${s.heldMessage ?? 'WAHA does not report it as WORKING'}${s.inUse ? '; a running campaign sends through it, so nothing leaves' : ''}`,
        command: 'campaign sessions',
        session: s.name,
      }),
    );
  }
  const autoPaused = new Set<number>();
  for (const r of f.running) {
    if (r.kind === 'campaign' && r.status === 'PAUSED' && r.autoPaused) {
      autoPaused.add(r.campaignId);
      out.push(
        item({
          kind: 'campaign_auto_paused',
          severity: 'error',
          title: `campaign ${r.id} "${r.name}" paused itself`,
          detail: r.pauseReason ?? 'too many recent sends failed',
          command: `campaign resume ${r.id}`,
          campaignId: r.id,
        }),
      );
    }
  }
  for (const u of f.unknown) {
    out.push(
      item({
        kind: 'unknown_rows',
        severity: 'warning',
        title: `campaign ${u.campaignId} "${u.name}": ${u.rows} UNKNOWN send(s)`,
        // promise 2: an UNKNOWN row is never re-sent silently; a person decides.
        detail: `WAHA may or may not have sent them; \`campaign report ${u.campaignId}\` lists them. Resend (someone may get it twice) or skip (someone may miss it).`,
        command: `campaign resolve ${u.campaignId} --resend|--skip`,
        campaignId: u.campaignId,
      }),
    );
  }
  for (const w of f.workers.filter((x) => x.stale)) {
    out.push(
      item({
        kind: 'stale_worker',
        severity: 'warning',
        title: `worker ${w.name} on ${w.host} is silent`,
        detail: `last heartbeat ${ago(w.ageMs)} ago (stale after ${ago(f.staleAfterMs)}) while ${w.state}; if it died, a send it had claimed becomes UNKNOWN`,
        command: `campaign logs --since 1h`,
        worker: w.name,
        at: w.lastSeenAt,
      }),
    );
  }
  const runningNow = f.running.filter((r) => r.status === 'RUNNING');
  if (runningNow.length > 0 && !f.workers.some((w) => !w.stale && !w.stopped)) {
    out.push(
      item({
        kind: 'no_live_worker',
        severity: 'error',
        title: `${runningNow.length} running campaign(s) or test run(s) but no live worker`,
        detail: 'nothing is sending; start one with `campaign worker` (any number, on any machine sharing the database)',
        command: 'campaign worker',
      }),
    );
  }
  for (const n of f.notifications) {
    // An auto-pause is already listed above with its resume command.
    if (n.kind === 'campaign_auto_paused' && n.campaignId !== null && autoPaused.has(n.campaignId)) continue;
    out.push(item({ kind: 'error_notification', severity: 'error', title: n.title, detail: n.body ?? '', campaignId: n.campaignId, testRunId: n.testRunId, at: n.at }));
  }
  if (f.unreadErrors > f.notifications.length) {
    out.push(item({ kind: 'error_notification', severity: 'error', title: `${f.unreadErrors - f.notifications.length} more unread error notification(s)`, detail: 'older ones are not listed here' }));
  }
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}
