// promise 8: whether a request needs authentication is decided by the route that matched, never
// by the URL's spelling. Every route declares it in its route config (`{ config: { auth } }`):
//
//   'public'  no credential: /healthz, the dashboard's static files and its page fallback
//   'token'   Authorization: Bearer <DASHBOARD_API_TOKEN> (the default: a route that says
//             nothing needs the token)
//   'stream'  the bearer header, or ?token= (the live stream: EventSource cannot set headers)
//   'own'     the handler checks its own credential and reports failures here (the login, the
//             WAHA webhook's HMAC or URL token)
//
// The router has decoded and matched the path before onRequest runs, so `/%61pi/campaigns` is
// the campaigns route and needs the token like `/api/campaigns`; a path no route matches goes
// to the not-found handler, which never runs an API handler. Every non-public route first asks
// the one failure limiter (auth-limiter.ts): a blocked client gets 429 before its credential is
// looked at.
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { recordActivity } from '../core/audit/audit.repository.js';
import type { Config } from '../core/config.js';
import type { Context } from '../core/context.js';
import { CampaignError } from '../core/errors.js';
import { clientKey, type AuthLimiter } from './auth-limiter.js';
import { presentedToken, tokenMatches } from './bearer-auth.js';

export const ROUTE_AUTH = ['public', 'token', 'stream', 'own'] as const;
export type RouteAuth = (typeof ROUTE_AUTH)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; unset means 'token'. See route-auth.ts. */
    auth?: RouteAuth;
    /**
     * With 'own': the handler asks the limiter itself, after its credential check. For the WAHA
     * webhook: an HMAC over the body (or the derived URL token) cannot be guessed, and WAHA may
     * share its address with others (a proxy, a host, a NAT), so a blocked address is refused only
     * when its credential is wrong, never a genuine event (promise 6: nothing received is lost).
     */
    limitsItself?: boolean;
  }
}

/** Route options that declare a route open, its own authenticator, or the live stream. */
export const PUBLIC = { config: { auth: 'public' } } as const;
export const OWN_AUTH = { config: { auth: 'own' } } as const;
export const WEBHOOK_AUTH = { config: { auth: 'own', limitsItself: true } } as const;
export const STREAM_AUTH = { config: { auth: 'stream' } } as const;

/** The owner of DASHBOARD_API_TOKEN, the actor of every call made with it. */
export const TOKEN_OWNER = 'dashboard';
/** The actor of requests that are not (yet) authenticated; they write nothing but auth.failed rows. */
export const ANONYMOUS = 'anonymous';

export type AuthFailure = 'bearer-missing' | 'bearer-wrong' | 'stream-token' | 'login' | 'webhook-hmac' | 'webhook-token' | 'webhook-refused';

const FAILURE_TEXT: Record<AuthFailure, string> = {
  'bearer-missing': 'no bearer token',
  'bearer-wrong': 'a wrong bearer token',
  'stream-token': 'a wrong ?token= on the live stream',
  login: 'a wrong token at the login',
  'webhook-hmac': 'a missing or wrong webhook signature',
  'webhook-token': 'a missing or wrong webhook URL token',
  'webhook-refused': 'a webhook while webhooks are refused (no key configured)',
};

export function routeAuth(req: FastifyRequest): RouteAuth {
  // The not-found handler serves only the dashboard's index.html or a 404 (build-server.ts).
  if (req.is404) return 'public';
  return req.routeOptions.config.auth ?? 'token';
}

/** At start-up: a route whose declaration is not one of ROUTE_AUTH is a bug, not a silent 'token'. */
export function checkRouteDeclaration(route: RouteOptions): void {
  const auth = route.config?.auth;
  if (auth !== undefined && !(ROUTE_AUTH as readonly string[]).includes(auth)) {
    throw new Error(`Route ${String(route.method)} ${route.url} declares auth "${String(auth)}"; use one of ${ROUTE_AUTH.join(', ')}.`);
  }
}

// A display name may follow the token's owner, after authentication only: `dashboard (as "Asha")`.
// No quotes or parentheses, so a name cannot imitate the format.
const DISPLAY_NAME = /^[\p{L}\p{N} ._@-]{1,60}$/u;

/** The audit actor of an authenticated request: the token's owner, with X-Actor as a display name. */
export function authenticatedActor(req: FastifyRequest): string {
  const header = req.headers['x-actor'];
  const name = typeof header === 'string' ? header.trim() : '';
  return name !== '' && DISPLAY_NAME.test(name) ? `${TOKEN_OWNER} (as "${name}")` : TOKEN_OWNER;
}

export interface AuthGuard {
  /** The onRequest hook: declared public, or not blocked and holding the token. */
  authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Counts a failed authentication of this request's client and audits it (rate-limited). */
  fail(req: FastifyRequest, why: AuthFailure): Promise<void>;
  /** Throws RATE_LIMITED (429 with Retry-After) when this request's client is blocked. */
  refuseIfBlocked(req: FastifyRequest, reply: FastifyReply): void;
  readonly limiter: AuthLimiter;
}

export function createAuthGuard(o: { ctx: Context; config: Config; token: string; limiter: AuthLimiter; now?: () => number }): AuthGuard {
  const { limiter, token } = o;
  const now = o.now ?? Date.now;

  function refuseIfBlocked(req: FastifyRequest, reply: FastifyReply): void {
    const wait = limiter.retryAfterMs(clientKey(req.ip), now());
    if (wait <= 0) return;
    const seconds = Math.ceil(wait / 1000);
    reply.header('retry-after', String(seconds));
    throw new CampaignError('RATE_LIMITED', `Too many failed authentications from this address; try again in ${seconds} s.`, { retryAfterSeconds: seconds });
  }

  async function fail(req: FastifyRequest, why: AuthFailure): Promise<void> {
    const client = clientKey(req.ip);
    const due = limiter.fail(client, now());
    if (!due) return;
    const route = `${req.method} ${req.routeOptions.url ?? '(no route)'}`;
    const minutes = Math.round(limiter.windowMs / 60_000);
    const more = due.notAudited > 0 ? `; ${due.notAudited} earlier failure${due.notAudited === 1 ? '' : 's'} from this client had no row of their own` : '';
    try {
      // Never the presented credential, nor the raw URL (it may carry ?token=): the route's pattern.
      await recordActivity(
        o.ctx.db,
        {
          actor: ANONYMOUS,
          action: 'auth.failed',
          entityType: 'client',
          entityId: client,
          summary: `Failed authentication from ${req.ip}: ${FAILURE_TEXT[why]} on ${route}${more}. Further failures from this client within ${minutes} min are counted in its next row.`,
          details: {
            ip: req.ip,
            client,
            reason: why,
            route,
            userAgent: String(req.headers['user-agent'] ?? '').slice(0, 200),
            failuresInWindow: due.failures,
            notAuditedBefore: due.notAudited,
            limit: { max: limiter.max, windowSeconds: Math.round(limiter.windowMs / 1000) },
          },
        },
        o.config,
      );
    } catch (e) {
      // The refusal stands whether or not its row could be written.
      req.log.error({ err: e }, 'could not audit a failed authentication');
    }
  }

  return {
    limiter,
    fail,
    refuseIfBlocked,
    async authenticate(req, reply) {
      const auth = routeAuth(req);
      req.ctx = { ...o.ctx, actor: ANONYMOUS };
      if (auth === 'public') return;
      if (auth === 'own' && req.routeOptions.config.limitsItself) return;
      refuseIfBlocked(req, reply);
      if (auth === 'own') return;
      const given = presentedToken(req, auth === 'stream');
      if (!given) {
        await fail(req, 'bearer-missing');
        throw new CampaignError('UNAUTHORIZED', 'This API needs `Authorization: Bearer <DASHBOARD_API_TOKEN>`.', {});
      }
      if (!tokenMatches(given, token)) {
        await fail(req, given.from === 'query' ? 'stream-token' : 'bearer-wrong');
        throw new CampaignError('UNAUTHORIZED', 'The API token is not valid.', {});
      }
      req.ctx = { ...o.ctx, actor: authenticatedActor(req) };
    },
  };
}
