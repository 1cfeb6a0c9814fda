// POST /api/auth/login: the dashboard checks its token here before storing it. The route checks
// its own credential (route-auth.ts, 'own'): a blocked client gets 429 before the token is
// compared, a wrong token counts toward the one failure limiter and its audit (auth.failed,
// rate-limited, never the token), and a success is in the admin activity log as the token's owner.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { recordActivity } from '../../core/audit/audit.repository.js';
import { CampaignError } from '../../core/errors.js';
import { secretsEqual } from '../../core/webhooks/index.js';
import { parseBody } from '../parse-input.js';
import { authenticatedActor, OWN_AUTH } from '../route-auth.js';
import type { ServerDeps } from '../server-deps.js';

export function authRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.post('/api/auth/login', OWN_AUTH, async (req) => {
    const { token } = parseBody(z.object({ token: z.string({ error: 'is required' }).max(4096) }), req.body);
    if (!secretsEqual(token, deps.config.dashboardApiToken!)) {
      await deps.auth.fail(req, 'login');
      throw new CampaignError('UNAUTHORIZED', 'The token is not valid.', {});
    }
    const actor = authenticatedActor(req);
    req.ctx = { ...req.ctx, actor };
    const details = { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '').slice(0, 200) };
    await recordActivity(req.ctx.db, { actor, action: 'auth.login', entityType: 'dashboard', summary: `Dashboard login from ${req.ip}`, details }, deps.config);
    return { ok: true, actor };
  });
}
