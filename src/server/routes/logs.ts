// Worker decisions (`campaign logs`), the admin activity log (`campaign audit`) and notifications.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listActivity } from '../../core/audit/audit.repository.js';
import { getCampaignId } from '../../core/campaigns/campaign.repository.js';
import { parseSince } from '../../core/time/parse-since.js';
import { listNotifications, markNotificationRead } from '../../core/webhooks/index.js';
import { checkEventNames, listWorkerEvents } from '../../core/worker/list-worker-events.js';
import { idParam, parseQuery, queryBool, queryInt } from '../parse-input.js';

export function logRoutes(app: FastifyInstance): void {
  app.get('/api/worker-events', async (req) => {
    const q = parseQuery(
      z.object({
        campaign: z.string().min(1).optional(),
        testRun: queryInt(1, Number.MAX_SAFE_INTEGER).optional(),
        event: z.string().min(1).optional(),
        session: z.string().min(1).optional(),
        since: z.string().min(1).optional(),
        afterId: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
        limit: queryInt(1, 10_000).optional(),
      }),
      req.query,
    );
    const ctx = req.ctx;
    const events = await listWorkerEvents(ctx, {
      campaignId: q.campaign ? await getCampaignId(ctx.db, q.campaign) : undefined,
      testRunId: q.testRun,
      events: q.event ? checkEventNames(q.event.split(',').map((s) => s.trim()).filter(Boolean)) : undefined,
      session: q.session,
      since: q.since ? parseSince(q.since, ctx.clock.now()) : undefined,
      afterId: q.afterId,
      limit: q.limit ?? 100,
    });
    return { events };
  });

  app.get('/api/audit', async (req) => {
    const q = parseQuery(
      z.object({ actor: z.string().min(1).optional(), action: z.string().min(1).optional(), campaign: z.string().min(1).optional(), since: z.string().min(1).optional(), limit: queryInt(1, 10_000).optional() }),
      req.query,
    );
    const ctx = req.ctx;
    const activity = await listActivity(ctx.db, {
      actor: q.actor,
      action: q.action,
      campaignId: q.campaign ? await getCampaignId(ctx.db, q.campaign) : undefined,
      since: q.since ? parseSince(q.since, ctx.clock.now()) : undefined,
      limit: q.limit ?? 100,
    });
    return { activity };
  });

  app.get('/api/notifications', async (req) => {
    const q = parseQuery(z.object({ unread: queryBool.optional(), limit: queryInt(1, 1000).optional() }), req.query);
    return listNotifications(req.ctx, { unread: q.unread, limit: q.limit ?? 100 });
  });
  app.post<{ Params: { id: string } }>('/api/notifications/:id/read', async (req) => markNotificationRead(req.ctx, idParam(req.params.id, 'notification')));
}
