// The campaigns pane's rows: running and paused campaigns and test runs, then approved
// campaigns that `s` can start. Built from the snapshot alone (pure), keyed so a selection
// survives refreshes.
import type { StatusSnapshot } from '../core/status/index.js';

export type CampaignAction = 'start' | 'pause' | 'resume' | 'cancel';

export interface CampaignRow {
  key: string;
  kind: 'campaign' | 'test';
  id: number;
  campaignId: number;
  /** `3` for a campaign, `t7` for a test run. */
  label: string;
  name: string;
  status: string;
  autoPaused: boolean;
  session: string;
  done: number;
  total: number;
  sent: number;
  pending: number;
  sending: number;
  failed: number;
  unknown: number;
  /** Why it is (not) moving: the pause reason, the latest worker decision, or how to start it. */
  note: string;
  nextAttemptAt: string | null;
  forecastFinishAt: string | null;
  /** What `s`, `p`, `r`, `c` may do to it now. */
  actions: CampaignAction[];
}

export function campaignRows(snapshot: StatusSnapshot | null): CampaignRow[] {
  if (!snapshot) return [];
  const rows: CampaignRow[] = snapshot.running.map((i) => ({
    key: `${i.kind}:${i.id}`,
    kind: i.kind,
    id: i.id,
    campaignId: i.campaignId,
    label: i.kind === 'test' ? `t${i.id}` : String(i.id),
    name: i.name,
    status: i.status,
    autoPaused: i.autoPaused,
    session: i.session,
    done: i.done,
    total: i.total,
    sent: i.counts.SENT_API_ACCEPTED + i.counts.DELIVERED + i.counts.READ,
    pending: i.counts.PENDING + i.counts.PAUSED,
    sending: i.counts.SENDING,
    failed: i.counts.FAILED,
    unknown: i.unknown,
    note:
      i.status === 'PAUSED' && i.pauseReason
        ? i.pauseReason
        : i.latest
          ? `${i.latest.event}${i.latest.reason ? `: ${i.latest.reason}` : ''}`
          : 'no worker decision yet: is `campaign worker` running?',
    nextAttemptAt: i.latest?.nextAttemptAt ?? null,
    forecastFinishAt: i.forecastFinishAt,
    actions: i.status === 'RUNNING' ? ['pause', 'cancel'] : ['resume', 'cancel'],
  }));
  for (const r of snapshot.ready) {
    rows.push({
      key: `campaign:${r.id}`,
      kind: 'campaign',
      id: r.id,
      campaignId: r.id,
      label: String(r.id),
      name: r.name,
      status: r.status,
      autoPaused: false,
      session: r.session,
      done: 0,
      total: r.pending,
      sent: 0,
      pending: r.pending,
      sending: 0,
      failed: 0,
      unknown: 0,
      note: r.queueBuiltAt === null ? `no queue yet: run \`campaign queue build ${r.id}\`` : `${r.pending} queued; press s to start`,
      nextAttemptAt: null,
      forecastFinishAt: null,
      actions: r.queueBuiltAt !== null && r.pending > 0 ? ['start', 'cancel'] : ['cancel'],
    });
  }
  return rows;
}

export const ACTION_KEYS: Record<string, CampaignAction> = { s: 'start', p: 'pause', r: 'resume', c: 'cancel' };

export function describeTarget(row: Pick<CampaignRow, 'kind' | 'id' | 'name'>): string {
  return row.kind === 'test' ? `test run ${row.id} (${row.name})` : `campaign ${row.id} "${row.name}"`;
}
