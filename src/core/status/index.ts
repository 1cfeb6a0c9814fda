// Live status for ops: one snapshot for `campaign status`, the TUI and /api/overview; a health
// check for `campaign health` and /api/health.
export { attentionItems, type AttentionFacts } from './attention-items.js';
export { DEFAULT_PROBE_TIMEOUT_MS, probeCrm, probeDatabase, probeWaha, type Probe, type WahaSessionSource } from './component-probes.js';
export { healthCheck, type HealthOptions } from './health-check.js';
export { DEFAULT_STALE_AFTER_MS, statusSnapshot, type StatusOptions } from './status-snapshot.js';
export type {
  AttentionItem,
  AttentionKind,
  ComponentState,
  ComponentStatus,
  HealthReport,
  HoldReason,
  ReadyCampaign,
  RunningItem,
  SessionStatus,
  StatusSnapshot,
  WorkerStatus,
} from './status-types.js';
