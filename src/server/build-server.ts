// `buildServer()` returns the Fastify app without listening (tests call inject(); `campaign
// serve` calls listen). Routes are thin: parse with zod, call the core function the CLI calls,
// return its result. Errors become {error: {code, message, details}} with the catalogue's HTTP
// status, in one handler.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { CrmSource } from '../core/audience/crm-source.js';
import { openCrmSource } from '../core/audience/supabase-crm-source.js';
import { type Config, requireConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { CampaignError } from '../core/errors.js';
import { createWahaClient, type WahaClient } from '../core/waha/index.js';
import { checkBearer, OPEN_API_ROUTES } from './bearer-auth.js';
import { createEventHub, type EventHubOptions } from './event-hub.js';
import { errorBody, toHttpError } from './http-errors.js';
import { createLoginLimiter } from './login-limiter.js';
import { publicDir } from './package-root.js';
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
  login?: { max?: number; windowMs?: number };
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

const ACTOR_HEADER = /^[\w.@ :-]{1,80}$/;

export async function buildServer(o: BuildServerOptions): Promise<FastifyInstance> {
  const config = o.config;
  requireConfig(config, ['dashboardApiToken'], 'serve');
  const token = config.dashboardApiToken!;
  const waha = o.waha ?? (config.wahaBaseUrl ? createWahaClient({ baseUrl: config.wahaBaseUrl, apiKey: config.wahaApiKey, timeoutMs: 10_000 }) : undefined);

  const app = Fastify({
    ...loggerOptions(o.logger),
    bodyLimit: o.bodyLimit ?? 2 * 1024 * 1024,
    // Behind a reverse proxy (docker-compose, nginx) the client address is in X-Forwarded-For;
    // the login rate limit counts per client, not per proxy.
    trustProxy: true,
    requestIdHeader: false,
  });

  const hub = createEventHub(o.ctx, { ...o.stream, onError: (e) => app.log.error({ err: e }, 'event stream poll failed') });
  const deps: ServerDeps = {
    ctx: o.ctx,
    config,
    waha,
    crm: o.crm ?? ((command) => openCrmSource(config, command)),
    allowUnsignedWebhooks: Boolean(o.allowUnsignedWebhooks),
    limiter: createLoginLimiter(o.login),
    hub,
  };

  app.decorateRequest('ctx', null as unknown as Context);
  app.addHook('onRequest', async (req) => {
    const header = req.headers['x-actor'];
    const actor = typeof header === 'string' && ACTOR_HEADER.test(header.trim()) ? header.trim() : (config.actor ?? 'dashboard');
    req.ctx = { ...o.ctx, actor };
    const path = req.url.split('?')[0]!;
    if (path.startsWith('/api/') && !OPEN_API_ROUTES.has(path)) checkBearer(req, token);
  });

  app.setErrorHandler((e, req, reply) => {
    const err = toHttpError(e);
    if (err.code === 'INTERNAL') req.log.error({ err: e }, 'request failed');
    else if (err.httpStatus >= 500) req.log.warn({ code: err.code, msg: err.message }, 'request failed');
    if (reply.sent || reply.raw.headersSent) return;
    void reply.code(err.httpStatus).type('application/json; charset=utf-8').send(errorBody(err));
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

  const root = publicDir();
  const hasDashboard = existsSync(join(root, 'index.html'));
  if (existsSync(root)) await app.register(fastifyStatic, { root, prefix: '/', index: ['index.html'], wildcard: true });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // The dashboard routes in the browser: any other page path gets its index.html.
    if (req.method === 'GET' && !path.startsWith('/api/') && hasDashboard && !/\.[a-z0-9]+$/i.test(path)) {
      return reply.type('text/html; charset=utf-8').sendFile('index.html');
    }
    const err = new CampaignError('NOT_FOUND', `No route ${req.method} ${path}.${path.startsWith('/api/') ? ' The API routes are listed in the README (Dashboard and API).' : ''}`, {});
    return reply.code(404).send(errorBody(err));
  });

  return app;
}
