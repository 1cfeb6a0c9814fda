// POST /api/auth/login: the dashboard checks its token here before storing it. Every attempt is
// in the admin activity log (never the token itself), and an address with too many recent
// failures gets 429 whatever it sends.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { recordActivity } from '../../core/audit/audit.repository.js';
import { CampaignError } from '../../core/errors.js';
import { secretsEqual } from '../../core/webhooks/index.js';
import { parseBody } from '../parse-input.js';
import type { ServerDeps } from '../server-deps.js';

export function authRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.post('/api/auth/login', async (req, reply) => {
    const ip = req.ip;
    const now = Date.now();
    const wait = deps.limiter.retryAfterMs(ip, now);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      reply.header('retry-after', String(seconds));
      throw new CampaignError('RATE_LIMITED', `Too many failed logins from this address; try again in ${seconds} s.`, { retryAfterSeconds: seconds });
    }
    const { token } = parseBody(z.object({ token: z.string({ error: 'is required' }).max(4096) }), req.body);
    const details = { ip, userAgent: String(req.headers['user-agent'] ?? '').slice(0, 200) };
    if (!secretsEqual(token, deps.config.dashboardApiToken!)) {
      deps.limiter.fail(ip, now);
      await recordActivity(req.ctx.db, { actor: req.ctx.actor, action: 'auth.login_failed', entityType: 'dashboard', summary: `Failed dashboard login from ${ip}`, details }, deps.config);
      throw new CampaignError('UNAUTHORIZED', 'The token is not valid.', {});
    }
    deps.limiter.succeed(ip);
    await recordActivity(req.ctx.db, { actor: req.ctx.actor, action: 'auth.login', entityType: 'dashboard', summary: `Dashboard login from ${ip}`, details }, deps.config);
    return { ok: true, actor: req.ctx.actor };
  });
}
