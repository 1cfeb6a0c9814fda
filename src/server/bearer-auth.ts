// Which credential a request presents: `Authorization: Bearer <token>`, or, on the routes that
// declare it (the live stream: a browser's EventSource cannot set headers), `?token=`. Compared
// with DASHBOARD_API_TOKEN in constant time. Whether a route needs one is its own declaration
// (route-auth.ts), never this module's guess from the URL.
import type { FastifyRequest } from 'fastify';
import { secretsEqual } from '../core/webhooks/index.js';

export interface PresentedToken {
  value: string;
  from: 'header' | 'query';
}

export function presentedToken(req: FastifyRequest, allowQuery: boolean): PresentedToken | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string' && h.trim() !== '') {
    const m = /^Bearer\s+(.+)$/i.exec(h.trim());
    // A malformed header is a wrong credential, not a missing one.
    return { value: m ? m[1]!.trim() : '', from: 'header' };
  }
  if (allowQuery) {
    const t = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof t === 'string' && t !== '') return { value: t, from: 'query' };
  }
  return undefined;
}

export function tokenMatches(given: PresentedToken, token: string): boolean {
  return given.value !== '' && secretsEqual(given.value, token);
}
