// The TUI's data, loaded outside React: a loop that reads the status snapshot and follows the
// worker events, woken early by LISTEN/NOTIFY (a latency hint only) and otherwise polling every
// second. A failed load keeps the last data and marks it DISCONNECTED; the loop keeps trying, so
// the screen recovers by itself when the database comes back. Components only render TuiData.
import type { Context } from '../core/context.js';
import { toCampaignError } from '../core/errors.js';
import { type ComponentStatus, type StatusSnapshot, statusSnapshot, type WahaSessionSource } from '../core/status/index.js';
import type { WahaSession } from '../core/waha/waha-client.js';
import { listWorkerEvents, type WorkerEventRow } from '../core/worker/list-worker-events.js';
import { type CampaignAction, type CampaignRow, describeTarget } from './campaign-rows.js';

export interface TuiData {
  snapshot: StatusSnapshot | null;
  /** Oldest first; the newest `eventsKept`. */
  events: WorkerEventRow[];
  connected: boolean;
  /** Why the last load failed. */
  error: string | null;
  /** When the shown snapshot was loaded. */
  updatedAt: string | null;
}

export interface TuiSource {
  get(): TuiData;
  subscribe(listener: (data: TuiData) => void): () => void;
  /** Load now instead of at the next tick. */
  refresh(): void;
  /** Runs a control action; resolves with a sentence for the footer, rejects with a CampaignError. */
  act(action: CampaignAction, target: Pick<CampaignRow, 'kind' | 'id' | 'name'>): Promise<string>;
  close(): Promise<void>;
}

export interface TuiSourceOptions {
  ctx: Context;
  waha?: WahaSessionSource;
  /** Subscribes to wake-ups (LISTEN on the work channel); returns an unsubscribe. */
  subscribe?: (wake: () => void) => Promise<() => Promise<void>>;
  pollMs?: number;
  eventsKept?: number;
  /** The CRM is pinged this often, not on every tick. */
  crmEveryMs?: number;
  /** Forecasts (a pacing simulation per running campaign) are recomputed this often. */
  forecastEveryMs?: number;
  /** WAHA's session list is re-read in the background this often. */
  wahaEveryMs?: number;
  timeoutMs?: number;
}

export const EMPTY_DATA: TuiData = { snapshot: null, events: [], connected: false, error: null, updatedAt: null };

/**
 * WAHA's session list, served from the last answer while a fresh one is fetched in the
 * background, so a slow or dead WAHA never delays the screen's database updates.
 */
export function backgroundSessions(waha: WahaSessionSource, everyMs: number): WahaSessionSource & { latencyMs(): number | null } {
  let last: { at: number; ok: true; value: WahaSession[] } | { at: number; ok: false; error: unknown } | undefined;
  let latency: number | null = null;
  let inflight: Promise<void> | undefined;
  const fetchNow = () => {
    inflight ??= (async () => {
      const started = performance.now();
      try {
        last = { at: Date.now(), ok: true, value: await waha.listSessions() };
      } catch (error) {
        last = { at: Date.now(), ok: false, error };
      } finally {
        latency = Math.round(performance.now() - started);
        inflight = undefined;
      }
    })();
    return inflight;
  };
  return {
    baseUrl: waha.baseUrl,
    latencyMs: () => latency,
    async listSessions() {
      if (!last) await fetchNow();
      else if (Date.now() - last.at >= everyMs) void fetchNow();
      const l = last!;
      if (!l.ok) throw l.error;
      return l.value;
    },
  };
}

export function createTuiSource(options: TuiSourceOptions): TuiSource {
  const { ctx } = options;
  const pollMs = options.pollMs ?? 1000;
  const kept = options.eventsKept ?? 300;
  const crmEveryMs = options.crmEveryMs ?? 30_000;
  const forecastEveryMs = options.forecastEveryMs ?? 5000;
  const waha = options.waha ? backgroundSessions(options.waha, options.wahaEveryMs ?? 3000) : undefined;
  const listeners = new Set<(d: TuiData) => void>();
  let data: TuiData = EMPTY_DATA;
  let closed = false;
  let wake = new AbortController();
  let lastEventId: number | undefined;
  let lastCrmAt = 0;
  let crmComponent: ComponentStatus | undefined;
  let lastForecastAt = 0;
  let unsubscribe: (() => Promise<void>) | undefined;

  const emit = (next: TuiData) => {
    data = next;
    for (const l of listeners) l(data);
  };

  async function loadOnce(): Promise<void> {
    const started = Date.now();
    try {
      const checkCrm = started - lastCrmAt >= crmEveryMs;
      const includeForecast = started - lastForecastAt >= forecastEveryMs;
      const snap = await statusSnapshot(ctx, { waha, checkCrm, includeForecast, timeoutMs: options.timeoutMs ?? 3000 });
      if (checkCrm) {
        lastCrmAt = started;
        crmComponent = snap.components.find((c) => c.kind === 'crm');
      } else if (crmComponent) {
        snap.components = snap.components.map((c) => (c.kind === 'crm' ? crmComponent! : c));
      }
      if (includeForecast) lastForecastAt = started;
      else {
        // Between forecasts, keep the last ones rather than flicker to "unknown".
        const previous = new Map((data.snapshot?.running ?? []).map((i) => [`${i.kind}:${i.id}`, i.forecastFinishAt]));
        for (const i of snap.running) if (i.status === 'RUNNING') i.forecastFinishAt = previous.get(`${i.kind}:${i.id}`) ?? null;
      }
      const latency = waha?.latencyMs();
      if (latency !== null && latency !== undefined) snap.components = snap.components.map((c) => (c.kind === 'waha' ? { ...c, latencyMs: latency } : c));
      snap.ok = snap.components.every((c) => !c.required || c.ok);

      let events = data.events;
      if (lastEventId === undefined) {
        events = (await listWorkerEvents(ctx, { limit: kept })).reverse();
      } else {
        const fresh = await listWorkerEvents(ctx, { afterId: lastEventId, limit: 500 });
        if (fresh.length > 0) events = [...events, ...fresh].slice(-kept);
      }
      lastEventId = events.at(-1)?.id ?? lastEventId ?? 0;
      emit({ snapshot: snap, events, connected: true, error: null, updatedAt: new Date().toISOString() });
    } catch (e) {
      emit({ ...data, connected: false, error: toCampaignError(e).message });
    }
  }

  async function loop(): Promise<void> {
    while (!closed) {
      await loadOnce();
      if (closed) break;
      const signal = wake.signal;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, pollMs);
        function done() {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
      if (wake.signal.aborted) wake = new AbortController();
    }
  }

  const refresh = () => wake.abort();
  const running = loop();
  if (options.subscribe) {
    options
      .subscribe(refresh)
      .then((u) => {
        if (closed) void u();
        else unsubscribe = u;
      })
      .catch(() => {});
  }

  return {
    get: () => data,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    refresh,
    async act(action, target) {
      const what = describeTarget(target);
      const ref = String(target.id);
      let status: string;
      if (target.kind === 'campaign') {
        const c = await import('../core/campaigns/campaign-control.js');
        const fn = { start: c.startCampaign, pause: c.pauseCampaign, resume: c.resumeCampaign, cancel: c.cancelCampaign }[action];
        status = (await fn(ctx, ref)).status;
      } else {
        if (action === 'start') {
          const { CampaignError } = await import('../core/errors.js');
          throw new CampaignError('TEST_RUN_INVALID_TRANSITION', `A test run cannot be started again; start a new one with \`campaign test start\`.`, { testRunId: target.id });
        }
        const t = await import('../core/test-runs/test-run-control.js');
        const fn = { pause: t.pauseTestRun, resume: t.resumeTestRun, cancel: t.cancelTestRun }[action];
        status = (await fn(ctx, ref)).testRun.status;
      }
      refresh();
      return `${what[0]!.toUpperCase()}${what.slice(1)} is now ${status}`;
    },
    async close() {
      closed = true;
      refresh();
      await running;
      await unsubscribe?.().catch(() => {});
    },
  };
}
