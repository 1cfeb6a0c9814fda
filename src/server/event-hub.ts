// GET /api/events/stream: Server-Sent Events for the dashboard. One poller per server, shared
// by every connected client and running only while one is connected: new worker_events and
// notifications by id every `pollMs` (the database is the source; no event is missed between
// polls), the running overview and worker heartbeats every `summaryMs` when they changed, and a
// comment line every `keepAliveMs` so proxies keep the connection open. The dashboard falls back
// to polling the same JSON endpoints when the stream drops.
import type { ServerResponse } from 'node:http';
import type { Context } from '../core/context.js';
import { DEFAULT_STALE_AFTER_MS } from '../core/status/index.js';
import { loadWorkers } from '../core/status/status-snapshot.js';
import { latestNotificationId, listNotifications } from '../core/webhooks/index.js';
import { listWorkerEvents } from '../core/worker/list-worker-events.js';
import { runningOverview } from '../core/worker/running-overview.js';

export interface EventHubOptions {
  pollMs?: number;
  summaryMs?: number;
  keepAliveMs?: number;
  onError?: (e: unknown) => void;
}

export interface EventHub {
  add(res: ServerResponse): Promise<void>;
  readonly clients: number;
  close(): void;
}

export function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function createEventHub(ctx: Context, options: EventHubOptions = {}): EventHub {
  const pollMs = options.pollMs ?? 1000;
  const summaryMs = options.summaryMs ?? 3000;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const clients = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let lastWorkerEventId = -1;
  let lastNotificationId = -1;
  let lastSummary = '';
  let lastWorkers = '';
  let lastSummaryAt = 0;
  let lastKeepAlive = Date.now();

  const broadcast = (frame: string) => {
    for (const c of clients) c.write(frame);
  };

  async function snapshot(): Promise<{ summary: string; workers: string }> {
    const [summary, workers] = await Promise.all([runningOverview(ctx), loadWorkers(ctx, ctx.clock.now(), DEFAULT_STALE_AFTER_MS)]);
    return { summary: JSON.stringify(summary), workers: JSON.stringify({ workers }) };
  }

  async function tick(): Promise<void> {
    if (ticking) return;
    ticking = true;
    try {
      if (lastWorkerEventId < 0) {
        lastWorkerEventId = (await listWorkerEvents(ctx, { limit: 1 }))[0]?.id ?? 0;
        lastNotificationId = await latestNotificationId(ctx);
      }
      const events = await listWorkerEvents(ctx, { afterId: lastWorkerEventId, limit: 500 });
      for (const e of events) broadcast(sseFrame('worker_event', e, e.id));
      if (events.length) lastWorkerEventId = events[events.length - 1]!.id;
      const { notifications } = await listNotifications(ctx, { afterId: lastNotificationId, limit: 100 });
      for (const n of notifications) broadcast(sseFrame('notification', n));
      if (notifications.length) lastNotificationId = notifications[notifications.length - 1]!.id;
      const now = Date.now();
      // A new worker event usually means progress moved: refresh the summary now, not later.
      if (now - lastSummaryAt >= summaryMs || events.length > 0) {
        lastSummaryAt = now;
        const s = await snapshot();
        if (s.summary !== lastSummary) broadcast(`event: summary\ndata: ${(lastSummary = s.summary)}\n\n`);
        if (s.workers !== lastWorkers) broadcast(`event: workers\ndata: ${(lastWorkers = s.workers)}\n\n`);
      }
      if (now - lastKeepAlive >= keepAliveMs) {
        lastKeepAlive = now;
        broadcast(`: keep-alive ${new Date(now).toISOString()}\n\n`);
      }
    } catch (e) {
      options.onError?.(e);
    } finally {
      ticking = false;
    }
  }

  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    lastWorkerEventId = -1;
  };

  return {
    get clients() {
      return clients.size;
    },
    async add(res) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // nginx: do not buffer the stream.
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 3000\n\n`);
      clients.add(res);
      res.on('close', () => {
        clients.delete(res);
        if (clients.size === 0) stop();
      });
      // Every new client starts from the current picture, then gets changes.
      try {
        const s = await snapshot();
        if (!res.writableEnded) {
          res.write(`event: summary\ndata: ${s.summary}\n\n`);
          res.write(`event: workers\ndata: ${s.workers}\n\n`);
        }
        // Others already have an equal or older picture; the next change reaches everyone.
        if (clients.size === 1) {
          lastSummary = s.summary;
          lastWorkers = s.workers;
          lastSummaryAt = Date.now();
        }
      } catch (e) {
        options.onError?.(e);
      }
      if (!timer && clients.size > 0) {
        timer = setInterval(() => void tick(), pollMs);
        timer.unref();
        void tick();
      }
    },
    close() {
      stop();
      for (const c of clients) c.end();
      clients.clear();
    },
  };
}
