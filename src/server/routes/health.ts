// Liveness (`/healthz`, open, no data) and the dashboard's overview: the same snapshot as
// `campaign status`, the same check as `campaign health`, the same rows as `campaign sessions`
// and `campaign running`.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireConfig } from '../../core/config.js';
import { healthCheck, statusSnapshot } from '../../core/status/index.js';
import { sessionOverview } from '../../core/waha/index.js';
import { runningOverview } from '../../core/worker/running-overview.js';
import { parseQuery, queryBool } from '../parse-input.js';
import { PUBLIC } from '../route-auth.js';
import type { ServerDeps } from '../server-deps.js';

export function healthRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get('/healthz', PUBLIC, async () => ({ ok: true }));

  app.get('/api/overview', async (req) => statusSnapshot(req.ctx, { waha: deps.waha }));

  app.get('/api/health', async (req, reply) => {
    const q = parseQuery(z.object({ strict: queryBool.optional() }), req.query);
    const report = await healthCheck(req.ctx, deps.config, { waha: deps.waha });
    // For monitors: ?strict=yes answers 503 when a needed component is down.
    if (q.strict && !report.ok) reply.code(503);
    return report;
  });

  app.get('/api/sessions', async (req) => {
    requireConfig(deps.config, ['wahaBaseUrl'], 'sessions');
    return sessionOverview(req.ctx, deps.waha!);
  });

  app.get('/api/running', async (req) => runningOverview(req.ctx));
}
