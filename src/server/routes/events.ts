// GET /api/events/stream (Server-Sent Events): see event-hub.ts for what flows and when. The one
// route that also takes ?token= (STREAM_AUTH): a browser's EventSource cannot set headers.
import type { FastifyInstance } from 'fastify';
import { STREAM_AUTH } from '../route-auth.js';
import type { ServerDeps } from '../server-deps.js';

export function eventRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get('/api/events/stream', STREAM_AUTH, async (_req, reply) => {
    // The response is written by the hub from here on, for as long as the client stays.
    reply.hijack();
    await deps.hub.add(reply.raw);
  });
}
