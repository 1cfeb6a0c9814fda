// The shapes `campaign status`, `campaign health`, the API (/api/overview, /api/health) and the
// TUI all show. Every field is JSON-safe: strings (ISO instants), numbers, booleans, null.
import type { RunningItem } from '../worker/running-overview.js';

/** up/down for checked components; info for facts (last webhook); not_configured when its variable is unset. */
export type ComponentState = 'up' | 'down' | 'info' | 'not_configured';

export interface ComponentStatus {
  name: string;
  kind: 'database' | 'crm' | 'waha' | 'session' | 'workers' | 'webhook';
  state: ComponentState;
  ok: boolean;
  /** Round trip of the check, when one was made. */
  latencyMs: number | null;
  detail: string | null;
  /** Whether the current configuration needs it: `ok` overall is every required component ok. */
  required: boolean;
}

export interface HealthReport {
  ok: boolean;
  at: string;
  components: ComponentStatus[];
}

export interface WorkerStatus {
  name: string;
  host: string;
  pid: number;
  version: string;
  state: string;
  detail: string | null;
  startedAt: string;
  lastSeenAt: string;
  /** How long ago it last recorded a heartbeat, ms. */
  ageMs: number;
  /** Not stopped, yet silent for longer than the stale limit: probably dead (killed, host down). */
  stale: boolean;
  stopped: boolean;
}

export type HoldReason = 'outside_window' | 'daily_limit' | 'hourly_limit' | 'delay' | 'block_pause' | 'session_not_working';

export interface SessionStatus {
  name: string;
  /** WAHA's status; null when WAHA was not asked, is unreachable, or does not list the session. */
  wahaStatus: string | null;
  /** Whether WAHA lists the session; null when WAHA was not asked or is unreachable. */
  inWaha: boolean | null;
  me: string | null;
  engine: string | null;
  sentToday: number;
  dailyLimit: number;
  lastHour: number;
  hourlyLimit: number;
  sendsInBlock: number;
  pauseAfterSends: number;
  window: { open: boolean; start: string; end: string; days: string; timezone: string };
  /** Whether pacing (and the session's health) lets a send start now. */
  canSendNow: boolean;
  heldBy: HoldReason | null;
  heldMessage: string | null;
  /** When the next send may start: now when it can, null when it waits for the session itself. */
  nextAllowedSendAt: string | null;
  notWorkingReason: string | null;
  lastSendAt: string | null;
  /** A RUNNING campaign or test run sends through it. */
  inUse: boolean;
}

export type AttentionKind =
  | 'component_down'
  | 'session_not_working'
  | 'campaign_auto_paused'
  | 'unknown_rows'
  | 'stale_worker'
  | 'no_live_worker'
  | 'error_notification';

export interface AttentionItem {
  kind: AttentionKind;
  severity: 'error' | 'warning';
  title: string;
  detail: string;
  /** What to run about it, when a command helps. */
  command: string | null;
  campaignId: number | null;
  testRunId: number | null;
  session: string | null;
  worker: string | null;
  at: string | null;
}

/** An APPROVED campaign: what `s` in the TUI (or `campaign start`) can start. */
export interface ReadyCampaign {
  kind: 'campaign';
  id: number;
  campaignId: number;
  name: string;
  status: 'APPROVED';
  session: string;
  queueBuiltAt: string | null;
  pending: number;
}

export interface StatusSnapshot {
  at: string;
  timezone: string;
  /** Every required component ok. */
  ok: boolean;
  components: ComponentStatus[];
  workers: WorkerStatus[];
  lastWebhookAt: string | null;
  waha: { configured: boolean; baseUrl: string | null; reachable: boolean | null; error: string | null };
  sessions: SessionStatus[];
  running: RunningItem[];
  ready: ReadyCampaign[];
  attention: AttentionItem[];
}

export type { RunningItem };
