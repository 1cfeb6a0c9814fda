// Every /api route except the WAHA webhook (its own authentication) and the login needs
// `Authorization: Bearer <DASHBOARD_API_TOKEN>`, compared in constant time. The live stream also
// takes `?token=` because a browser's EventSource cannot set headers.
import type { FastifyRequest } from 'fastify';
import { CampaignError } from '../core/errors.js';
import { secretsEqual } from '../core/webhooks/index.js';

export const OPEN_API_ROUTES = new Set(['/api/webhooks/waha', '/api/auth/login']);
const QUERY_TOKEN_ROUTES = new Set(['/api/events/stream']);

function presentedToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(h.trim());
    if (m) return m[1]!.trim();
  }
  const path = req.url.split('?')[0]!;
  if (QUERY_TOKEN_ROUTES.has(path)) {
    const t = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof t === 'string' && t !== '') return t;
  }
  return undefined;
}

export function checkBearer(req: FastifyRequest, token: string): void {
  const given = presentedToken(req);
  if (given === undefined) {
    throw new CampaignError('UNAUTHORIZED', 'This API needs `Authorization: Bearer <DASHBOARD_API_TOKEN>`.', {});
  }
  if (!secretsEqual(given, token)) throw new CampaignError('UNAUTHORIZED', 'The API token is not valid.', {});
}
