// The sending loop: claim, send, record, sleep until the next instant something may be sendable.
// Correctness lives in the claim transaction; this loop only schedules it (NOTIFY wakes it early,
// a lost notification costs at most one poll interval).
import { sql } from 'kysely';
import type { Context } from '../context.js';
import { getSettings } from '../settings/settings.service.js';
import { claimNext } from './claim-next.js';
import { beat, type HeartbeatInfo } from './heartbeat.js';
import { recordOutcome, releaseClaim } from './record-outcome.js';
import { type ChatHistoryPort, reconcileUnknown } from './reconcile-unknown.js';
import { recoverStaleSends } from './recover-stale.js';
import { type MediaResolver, NotImplementedMemo, type SendPort, sendRecipient } from './send-recipient.js';
import { recordWorkerEvent } from './worker-events.js';

export interface WorkerPorts {
  waha: SendPort & Partial<ChatHistoryPort> & { getSession?(name: string): Promise<{ status: string }> };
  resolveMedia: MediaResolver;
  rng?: () => number;
  /** Subscribes to wake-ups (LISTEN/NOTIFY); returns an unsubscribe. */
  subscribe?: (wake: () => void) => Promise<() => Promise<void>>;
}

export interface WorkerOptions {
  name: string;
  version: string;
  /** Stop after nothing more can be sent right now (for CI and tests). */
  once?: boolean;
  /** Aborted on the first SIGTERM/SIGINT: the send in flight finishes, then the loop exits. */
  stop: AbortSignal;
  heartbeatMs?: number;
  /** SENDING rows older than this belong to a dead worker (must exceed the WAHA request timeout). */
  staleAfterMs?: number;
  maintenanceMs?: number;
  /** Progress lines for the terminal. */
  onProgress?: (line: string) => void;
}

export interface WorkerSummary {
  sent: number;
  failed: number;
  unknown: number;
  retried: number;
  reconciled: number;
}

async function activeSessions(ctx: Context): Promise<string[]> {
  const r = await sql<{ s: string }>`
    select distinct waha_session as s from campaigns where status = 'RUNNING'
    union
    select distinct waha_session from campaign_test_runs where status = 'RUNNING'`.execute(ctx.db);
  return r.rows.map((x) => x.s).sort();
}

export async function runWorker(ctx: Context, ports: WorkerPorts, options: WorkerOptions): Promise<WorkerSummary> {
  const rng = ports.rng ?? Math.random;
  const startedAt = ctx.clock.now();
  const info: HeartbeatInfo = { name: options.name, pid: process.pid, version: options.version, startedAt };
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const maintenanceMs = options.maintenanceMs ?? 10_000;
  const summary: WorkerSummary = { sent: 0, failed: 0, unknown: 0, retried: 0, reconciled: 0 };
  const progress = options.onProgress ?? (() => {});
  let wakeController = new AbortController();
  const wake = () => wakeController.abort();
  options.stop.addEventListener('abort', wake, { once: true });
  const unsubscribe = ports.subscribe ? await ports.subscribe(wake).catch(() => undefined) : undefined;

  const lastDecision = new Map<string, string>();
  const lastProbe = new Map<string, number>();
  let lastBeat = 0;
  let lastMaintenance = 0;
  let idleLogged = false;
  let claimedLast = false;
  let cachedAt = 0;
  let cachedSettings: Awaited<ReturnType<typeof getSettings>> | undefined;
  let cachedSessions: string[] = [];
  let consecutiveErrors = 0;
  const notImplemented = new NotImplementedMemo();

  await beat(ctx, info, 'starting');
  await recordWorkerEvent(ctx.db, { at: startedAt, event: 'worker_started', worker: options.name, reason: `pid ${process.pid}, version ${options.version}` });
  try {
    while (!options.stop.aborted) {
      // Fix: any database error (a deadlock, a restart, a dropped connection) used to end the
      // process. Outside a send it is now recorded as `worker_error` and retried after a backoff;
      // between a claim and its recorded outcome it still ends the process, so the row is left
      // SENDING and becomes UNKNOWN (promise 2), never silently re-sent.
      let inFlight = false;
      try {
        const now = ctx.clock.now();
        if (now.getTime() - lastMaintenance >= maintenanceMs) {
          lastMaintenance = now.getTime();
          const recovered = await recoverStaleSends(ctx, { staleAfterMs: options.staleAfterMs ?? 60_000, heartbeatStaleMs: heartbeatMs * 4, worker: options.name, startedAt });
          if (recovered) progress(`${recovered} abandoned send(s) marked UNKNOWN`);
          const rec = await reconcileUnknown(ctx, { worker: options.name, waha: ports.waha.chatMessages ? (ports.waha as ChatHistoryPort) : undefined });
          summary.reconciled += rec.reconciled;
          if (rec.reconciled) progress(`${rec.reconciled} unknown send(s) reconciled from WAHA's record`);
        }
        // While sends follow each other, settings and the active sessions are re-read at most once
        // a second (two queries per send saved); after any idle pass they are read fresh. The
        // claim itself re-checks everything that decides a send, so this only delays noticing a
        // newly started campaign on another session or a changed setting by up to a second.
        if (!claimedLast || Date.now() - cachedAt >= 1000) {
          cachedSettings = await getSettings(ctx.db);
          cachedSessions = await activeSessions(ctx);
          cachedAt = Date.now();
        }
        const settings = cachedSettings!;
        const pollMs = settings.poll_interval_seconds * 1000;
        const sessions = cachedSessions;
        let soonest = now.getTime() + pollMs;
        let claimedAny = false;
        // A session found WORKING again this pass: look again at once, even under --once.
        let resumedAny = false;
        if (sessions.length === 0 && !idleLogged) {
          idleLogged = true;
          await recordWorkerEvent(ctx.db, { at: now, event: 'idle', worker: options.name, reason: 'no running campaign or test run' });
        }
        if (sessions.length > 0) idleLogged = false;
        for (const session of sessions) {
          if (options.stop.aborted) break;
          const claim = await claimNext(ctx, session, { worker: options.name, settings, rng, heartbeatStaleMs: heartbeatMs * 4 });
          if (claim.kind === 'claimed') {
            claimedAny = true;
            inFlight = true;
            lastDecision.delete(session);
            const r = claim.recipient;
            // Heartbeats are throttled to heartbeatMs, not written per send (one query per send saved).
            if (Date.now() - lastBeat >= heartbeatMs) {
              await beat(ctx, info, 'sending', `${r.kind} ${r.ownerId} row ${r.id} → ${r.chatId}`);
              lastBeat = Date.now();
            }
            // The first stop signal does not interrupt this: the send in flight finishes and is recorded.
            // Fix: keep beating while the request is in flight. A send may take up to the WAHA timeout
            // (30 s) but peers judge a worker dead after 4 missed beats (20 s), and used to mark this
            // live worker's row UNKNOWN; a 5xx answer could then no longer put it back to PENDING.
            const detail = `${r.kind} ${r.ownerId} row ${r.id} → ${r.chatId}`;
            const keepAlive = setInterval(() => void beat(ctx, info, 'sending', detail).catch(() => {}), heartbeatMs);
            let sent: Awaited<ReturnType<typeof sendRecipient>>;
            try {
              sent = await sendRecipient(r, { db: ctx.db, waha: ports.waha, resolveMedia: ports.resolveMedia, clock: ctx.clock, notImplemented });
            } finally {
              clearInterval(keepAlive);
            }
            if (!sent.sent) {
              const released = await releaseClaim(ctx, r, sent.reason, { worker: options.name, settings }, { skip: sent.skip, fail: sent.fail, retryAfterMs: sent.retryAfterMs });
              inFlight = false;
              if (released === 'FAILED') summary.failed++;
              else if (released === 'PENDING') summary.retried++;
              progress(`${released.padEnd(17)} ${r.kind === 'test' ? `test run ${r.ownerId}` : `campaign ${r.ownerId}`} → ${r.chatId}: ${sent.reason}`);
              continue;
            }
            const { outcome, usedFallback } = sent;
            const state = await recordOutcome(ctx, r, outcome, { worker: options.name, settings, usedFallback });
            inFlight = false;
            if (state === 'SENT_API_ACCEPTED') summary.sent++;
            else if (state === 'FAILED') summary.failed++;
            else if (state === 'UNKNOWN') summary.unknown++;
            else summary.retried++;
            progress(`${state.padEnd(17)} ${r.kind === 'test' ? `test run ${r.ownerId}` : `campaign ${r.ownerId}`} → ${r.chatId}${usedFallback ? ' (fallback)' : ''}`);
          } else if (claim.kind === 'blocked') {
            soonest = Math.min(soonest, claim.until.getTime());
            const key = `${claim.reason}@${claim.until.toISOString()}`;
            if (lastDecision.get(session) !== key) {
              lastDecision.set(session, key);
              await recordWorkerEvent(ctx.db, { at: now, event: claim.reason, worker: options.name, session, reason: claim.message, nextAttemptAt: claim.until });
              progress(`${session}: ${claim.message}`);
            }
            if (claim.reason === 'session_not_working' && ports.waha.getSession) {
              const last = lastProbe.get(session) ?? 0;
              if (now.getTime() - last >= pollMs) {
                lastProbe.set(session, now.getTime());
                const status = await ports.waha.getSession(session).then((s) => s.status).catch(() => undefined);
                if (status === 'WORKING') {
                  await ctx.db.updateTable('session_pacing').set({ not_working_reason: null, waha_status: 'WORKING', waha_status_at: now, updated_at: now }).where('session', '=', session).execute();
                  await recordWorkerEvent(ctx.db, { at: now, event: 'resumed', worker: options.name, session, reason: 'WAHA reports the session WORKING again' });
                  progress(`${session}: WORKING again, resuming`);
                  soonest = now.getTime();
                  resumedAny = true;
                }
              }
            }
          }
        }
        consecutiveErrors = 0;
        if (Date.now() - lastBeat >= heartbeatMs) {
          await beat(ctx, info, claimedAny ? 'sending' : 'waiting');
          lastBeat = Date.now();
        }
        claimedLast = claimedAny;
        if (claimedAny) continue;
        // Fix: `--once` used to stop right after clearing a session's not-working pause, so a
        // worker run once after WAHA came back sent nothing although sending was possible now.
        if (options.once && !resumedAny) break;
        const waitMs = Math.max(0, soonest - ctx.clock.now().getTime());
        if (wakeController.signal.aborted) wakeController = new AbortController();
        await ctx.clock.sleep(Math.min(waitMs, heartbeatMs), wakeController.signal);
      } catch (error) {
        if (inFlight || options.stop.aborted) throw error;
        consecutiveErrors++;
        const message = String((error as Error)?.message ?? error);
        const backoffMs = Math.min(1000 * 2 ** (consecutiveErrors - 1), 30_000);
        await recordWorkerEvent(ctx.db, { at: ctx.clock.now(), event: 'worker_error', worker: options.name, reason: message, nextAttemptAt: new Date(ctx.clock.now().getTime() + backoffMs) }).catch(() => {});
        progress(`error: ${message}; retrying in ${backoffMs} ms`);
        if (options.once && consecutiveErrors >= 3) throw error;
        await ctx.clock.sleep(backoffMs, options.stop);
        continue;
      }
    }
  } finally {
    await unsubscribe?.().catch(() => {});
    const end = ctx.clock.now();
    await beat(ctx, info, 'stopped').catch(() => {});
    await recordWorkerEvent(ctx.db, { at: end, event: 'worker_stopped', worker: options.name, reason: options.stop.aborted ? 'stop signal' : 'nothing more to send now', details: { ...summary } }).catch(() => {});
  }
  return summary;
}
