// POST /api/webhooks/waha (contract §7). Registered in its own encapsulated scope, where every
// body is kept as raw bytes: the HMAC is over exactly what WAHA sent (§7.2), never re-serialized
// JSON. Authentication: X-Webhook-Hmac when WEBHOOK_HMAC_KEY is set; else `?token=` (derived
// from DASHBOARD_API_TOKEN, see core/webhooks/webhook-setup.ts); else only with
// --allow-unsigned-webhooks. A request that fails it gets 401 (429 once its client is blocked)
// and nothing is stored; the failure counts toward the client's one failure limiter. A genuine
// event is taken even from a blocked address (route-auth.ts, limitsItself: promise 6).
import type { FastifyInstance } from 'fastify';
import { CampaignError } from '../../core/errors.js';
import { ingestWahaEvent, secretsEqual, verifyWahaSignature, WEBHOOK_PATH, webhookAuthMode, webhookUrlToken } from '../../core/webhooks/index.js';
import { WEBHOOK_AUTH } from '../route-auth.js';
import type { ServerDeps } from '../server-deps.js';

/**
 * A blocked address's webhook is still checked (and a genuine one taken) only when the secret is
 * too long to guess: else answering 200 to a right guess and 429 to a wrong one would be an
 * unthrottled oracle for a short WEBHOOK_HMAC_KEY or DASHBOARD_API_TOKEN.
 */
export const UNGUESSABLE_SECRET_LENGTH = 32;

/** WAHA events are small; a message with inline media could be larger, but it is not our case. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export async function webhookRoutes(app: FastifyInstance, deps: ServerDeps & { bodyLimit?: number }): Promise<void> {
  const mode = webhookAuthMode(deps.config, deps.allowUnsignedWebhooks);
  const urlToken = deps.config.dashboardApiToken ? webhookUrlToken(deps.config.dashboardApiToken) : undefined;
  const secret = mode === 'hmac' ? deps.config.webhookHmacKey : mode === 'token' ? deps.config.dashboardApiToken : undefined;
  const checkBlockedFirst = (secret?.length ?? 0) < UNGUESSABLE_SECRET_LENGTH;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.bodyLimit ?? WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.post(WEBHOOK_PATH, WEBHOOK_AUTH, async (req, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (checkBlockedFirst) deps.auth.refuseIfBlocked(req, reply);
    if (mode === 'hmac') {
      if (!verifyWahaSignature(raw, req.headers['x-webhook-hmac'], deps.config.webhookHmacKey!)) {
        await deps.auth.fail(req, 'webhook-hmac');
        deps.auth.refuseIfBlocked(req, reply);
        req.log.warn({ hasSignature: Boolean(req.headers['x-webhook-hmac']) }, 'webhook refused: bad or missing X-Webhook-Hmac');
        throw new CampaignError('UNAUTHORIZED', 'The X-Webhook-Hmac signature is missing or wrong: WAHA must sign webhooks with WEBHOOK_HMAC_KEY (`campaign webhook setup`).', {});
      }
    } else if (mode === 'token') {
      const token = (req.query as Record<string, unknown>).token;
      if (!secretsEqual(typeof token === 'string' ? token : undefined, urlToken!)) {
        await deps.auth.fail(req, 'webhook-token');
        deps.auth.refuseIfBlocked(req, reply);
        req.log.warn('webhook refused: missing or wrong ?token=');
        throw new CampaignError('UNAUTHORIZED', 'The webhook URL token is missing or wrong: use the URL `campaign webhook show` prints.', {});
      }
    } else if (mode === 'refused') {
      await deps.auth.fail(req, 'webhook-refused');
      deps.auth.refuseIfBlocked(req, reply);
      throw new CampaignError('UNAUTHORIZED', 'Webhooks are refused: set WEBHOOK_HMAC_KEY (or DASHBOARD_API_TOKEN for a URL token), or start with --allow-unsigned-webhooks.', {});
    }
    req.ctx = { ...req.ctx, actor: 'webhook' };
    const r = await ingestWahaEvent(req.ctx, raw);
    if (r.error) req.log.error({ eventId: r.eventId, event: r.event, error: r.error }, 'webhook event stored without its effects');
    reply.code(200);
    return { ok: true, eventId: r.eventId, event: r.event, duplicate: r.duplicate, effect: r.effect?.kind ?? null };
  });
}
