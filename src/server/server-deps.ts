// What the route files share: the configuration and the ports to the outside (WAHA, the CRM),
// built once by buildServer. Each request gets its own core Context (`req.ctx`) with its actor.
import type { CrmSource } from '../core/audience/crm-source.js';
import type { Config } from '../core/config.js';
import type { Context } from '../core/context.js';
import type { WahaClient } from '../core/waha/index.js';
import type { EventHub } from './event-hub.js';
import type { AuthGuard } from './route-auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The core context for this request: the server's, with the acting person. */
    ctx: Context;
  }
}

export interface ServerDeps {
  ctx: Context;
  config: Config;
  /** WAHA, when WAHA_BASE_URL is set (or a test passes one); routes that need it say so. */
  waha?: WahaClient;
  /** Opens the CRM source on demand (Supabase), or a test's fake. */
  crm(command: string): Promise<CrmSource>;
  allowUnsignedWebhooks: boolean;
  /** The one failure limiter and its audit, for the routes that check their own credential. */
  auth: AuthGuard;
  hub: EventHub;
}
