// `buildServer()` returns the Fastify app without listening (tests call inject(); `campaign
// serve` calls listen). Routes are thin: parse with zod, call the core function the CLI calls,
// return its result. Errors become {error: {code, message, details}} with the catalogue's HTTP
// status, in one handler.
import { existsSync, readdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { CrmSource } from '../core/audience/crm-source.js';
import { openCrmSource } from '../core/audience/supabase-crm-source.js';
import { type Config, requireConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { CampaignError } from '../core/errors.js';
import { createWahaClient, type WahaClient } from '../core/waha/index.js';
import { createAuthLimiter } from './auth-limiter.js';
import { createEventHub, type EventHubOptions } from './event-hub.js';
import { errorBody, toHttpError } from './http-errors.js';
import { packageRoot, publicDir } from './package-root.js';
import { checkRouteDeclaration, createAuthGuard, PUBLIC, type RouteAuth } from './route-auth.js';
import { authRoutes } from './routes/auth.js';
import { campaignRoutes } from './routes/campaigns.js';
import { contactRoutes } from './routes/contacts.js';
import { docsRoutes } from './routes/docs.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { logRoutes } from './routes/logs.js';
import { mediaRoutes } from './routes/media.js';
import { settingsRoutes } from './routes/settings.js';
import { templateRoutes } from './routes/templates.js';
import { testPeopleRoutes } from './routes/test-people.js';
import { webhookRoutes } from './routes/webhooks.js';
import type { ServerDeps } from './server-deps.js';

export interface BuildServerOptions {
  ctx: Context;
  config: Config;
  /** Defaults to a client for WAHA_BASE_URL when it is set. */
  waha?: WahaClient;
  /** true: pino to stdout at info with secrets redacted; or pino options; or a logger; default off. */
  logger?: boolean | FastifyServerOptions['logger'] | FastifyBaseLogger;
  allowUnsignedWebhooks?: boolean;
  /** Opens the CRM for audience routes (default: Supabase from the configuration). */
  crm?: (command: string) => Promise<CrmSource>;
  /** The one limiter of failed authentications: `max` failures per client within `windowMs` (default 10 in 5 min). */
  authLimit?: { max?: number; windowMs?: number; maxClients?: number };
  /** Called for every route as it is registered, with what it declared (tests walk the table). */
  onRoute?: (route: { method: string; url: string; auth: RouteAuth }) => void;
  stream?: EventHubOptions;
  /** Webhook body limit in bytes (default 1 MB). */
  webhookBodyLimit?: number;
  /** JSON body limit of the other routes (default 2 MB). */
  bodyLimit?: number;
}

/** Never logged: tokens in headers and in the URL (the live stream and the webhook take `?token=`). */
export const REDACT_PATHS = ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers["x-webhook-hmac"]', 'req.headers.cookie', 'token', 'body.token'];

export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|x-api-key)=)[^&#]*/gi, '$1[Redacted]');
}

function loggerOptions(o: BuildServerOptions['logger']): Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> {
  if (o === undefined || o === false) return { logger: false };
  if (typeof o === 'object' && o !== null && typeof (o as FastifyBaseLogger).info === 'function' && typeof (o as FastifyBaseLogger).child === 'function') {
    return { loggerInstance: o as FastifyBaseLogger };
  }
  const base = o === true ? {} : (o as Record<string, unknown>);
  return {
    logger: {
      level: 'info',
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      serializers: {
        req: (req: { method: string; url: string; ip?: string; headers?: Record<string, unknown> }) => ({
          method: req.method,
          url: redactUrl(req.url),
          remoteAddress: req.ip,
          userAgent: req.headers?.['user-agent'],
        }),
      },
      ...base,
    },
  };
}

/**
 * The dashboard's Content-Security-Policy: its own files only, no inline script or style, no
 * eval, no framing; the API and the event stream are same-origin. The dashboard is written to
 * pass it (no inline handlers or style attributes), and the Chromium tests watch for violations.
 */
export const DASHBOARD_CSP = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/**
 * A path as a lenient reader would see it: decoded (twice encoded too), lower case, `\` as `/`,
 * `;params` and duplicate slashes dropped, dot segments resolved. Used only to make sure no
 * spelling of an /api path gets the dashboard's page instead of a 404.
 */
export function normalisedPath(url: string): string {
  let p = url.split(/[?#]/)[0]!;
  for (let i = 0; i < 4; i++) {
    let next = p;
    try {
      next = decodeURIComponent(p);
    } catch {
      break;
    }
    if (next === p) break;
    p = next;
  }
  p = p.toLowerCase().replace(/\\/g, '/').replace(/;[^/]*/g, '').replace(/\/{2,}/g, '/');
  return posix.normalize(p.startsWith('/') ? p : `/${p}`);
}

const isApiPath = (url: string) => /^\/api(?:$|[^a-z0-9_-])/.test(normalisedPath(url));

/** The dashboard's files, as URL paths relative to the public folder. */
function dashboardFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith('.'))
    .map((d) => relative(root, join(d.parentPath, d.name)).split(/[\\/]/).join('/'));
}

export async function buildServer(o: BuildServerOptions): Promise<FastifyInstance> {
  const config = o.config;
  requireConfig(config, ['dashboardApiToken'], 'serve');
  const token = config.dashboardApiToken!;
  const waha = o.waha ?? (config.wahaBaseUrl ? createWahaClient({ baseUrl: config.wahaBaseUrl, apiKey: config.wahaApiKey, timeoutMs: 10_000 }) : undefined);

  const app = Fastify({
    ...loggerOptions(o.logger),
    bodyLimit: o.bodyLimit ?? 2 * 1024 * 1024,
    // promise 8: the client address is the socket's, unless TRUST_PROXY names the proxy in front
    // (then X-Forwarded-For from that proxy only). It keys the failure limiter and the audit.
    trustProxy: config.trustProxy ?? false,
    requestIdHeader: false,
  });

  // Every route is declared before it serves: an unknown declaration stops the start.
  app.addHook('onRoute', (route) => {
    checkRouteDeclaration(route);
    for (const method of [route.method].flat()) o.onRoute?.({ method: String(method), url: route.url, auth: route.config?.auth ?? 'token' });
  });

  // Security headers on every response, errors and 404s included (its hook runs first).
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: DASHBOARD_CSP },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // TLS is the proxy's business (HSTS belongs there); over plain HTTP browsers ignore it anyway.
    strictTransportSecurity: false,
    crossOriginEmbedderPolicy: false,
  });

  const hub = createEventHub(o.ctx, { ...o.stream, onError: (e) => app.log.error({ err: e }, 'event stream poll failed') });
  const auth = createAuthGuard({ ctx: o.ctx, config, token, limiter: createAuthLimiter(o.authLimit) });
  const deps: ServerDeps = {
    ctx: o.ctx,
    config,
    waha,
    crm: o.crm ?? ((command) => openCrmSource(config, command)),
    allowUnsignedWebhooks: Boolean(o.allowUnsignedWebhooks),
    auth,
    hub,
  };

  app.decorateRequest('ctx', null as unknown as Context);
  // promise 8: decided by the matched route's declaration (route-auth.ts), never by the URL.
  app.addHook('onRequest', auth.authenticate);

  // Error texts never name this server's folders (an upload's temp file, the media folder...).
  const serverFolders = [tmpdir(), homedir(), packageRoot(), process.cwd(), config.mediaDir, config.campaignHome].filter((f) => f && f !== '/');

  app.setErrorHandler((e, req, reply) => {
    const err = toHttpError(e);
    if (err.code === 'INTERNAL') req.log.error({ err: e }, 'request failed');
    else if (err.httpStatus >= 500) req.log.warn({ code: err.code, msg: err.message }, 'request failed');
    if (reply.sent || reply.raw.headersSent) return;
    void reply.code(err.httpStatus).type('application/json; charset=utf-8').send(errorBody(err, serverFolders));
  });

  // Closes live streams first: they would otherwise hold the server open on shutdown.
  app.addHook('preClose', async () => hub.close());

  healthRoutes(app, deps);
  authRoutes(app, deps);
  campaignRoutes(app);
  templateRoutes(app, deps);
  testPeopleRoutes(app);
  contactRoutes(app, deps);
  settingsRoutes(app);
  logRoutes(app);
  eventRoutes(app, deps);
  docsRoutes(app);
  await app.register(mediaRoutes);
  await app.register(webhookRoutes, { ...deps, bodyLimit: o.webhookBodyLimit });

  // The dashboard: each of its files is a public route of its own (no wildcard that could catch
  // an /api spelling), and page paths fall back to index.html in the not-found handler.
  const root = publicDir();
  const files = dashboardFiles(root);
  const hasDashboard = files.includes('index.html');
  if (existsSync(root)) await app.register(fastifyStatic, { root, serve: false });
  for (const file of files) app.get(`/${file}`, PUBLIC, (_req, reply) => reply.sendFile(file));
  if (hasDashboard) app.get('/', PUBLIC, (_req, reply) => reply.type('text/html; charset=utf-8').sendFile('index.html'));

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const api = isApiPath(req.url);
    // The dashboard routes in the browser: any other page path gets its index.html; no spelling
    // of an /api path does (it is a 404, and no API handler ran).
    if ((req.method === 'GET' || req.method === 'HEAD') && !api && hasDashboard && !/\.[a-z0-9]+$/i.test(path)) {
      return reply.type('text/html; charset=utf-8').sendFile('index.html');
    }
    const err = new CampaignError('NOT_FOUND', `No route ${req.method} ${path}.${api ? ' The API routes are listed in the README (Dashboard and API).' : ''}`, {});
    return reply.code(404).type('application/json; charset=utf-8').send(errorBody(err, serverFolders));
  });

  return app;
}
