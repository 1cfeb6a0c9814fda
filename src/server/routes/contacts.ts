// Contacts and the CRM audience: `campaign contacts` and `campaign audience`. `:ref` is a contact
// id (42 or #42) or a phone, as on the command line.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { importAudience, listBrands, previewAudience } from '../../core/audience/audience.service.js';
import {
  contactsSummary,
  listContacts,
  optInContact,
  optOutContact,
  showContact,
  suppressContact,
  unsuppressContact,
} from '../../core/contacts/contact.service.js';
import { parseBody, parseQuery, queryBool, queryInt, reasonBody } from '../parse-input.js';
import type { ServerDeps } from '../server-deps.js';

type RefParams = { Params: { ref: string } };

export function contactRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get('/api/contacts', async (req) => {
    const q = parseQuery(
      z.object({
        brand: z.string().min(1).optional(),
        validity: z.enum(['valid', 'invalid'], { error: 'must be valid or invalid' }).optional(),
        suppressed: queryBool.optional(),
        optedOut: queryBool.optional(),
        search: z.string().max(200).optional(),
        limit: queryInt(1, 10_000).optional(),
        offset: queryInt(0, 100_000_000).optional(),
      }),
      req.query,
    );
    return listContacts(req.ctx, q); // core owns the defaults (100 from 0)
  });
  app.get('/api/contacts/summary', async (req) => contactsSummary(req.ctx));
  app.get<RefParams>('/api/contacts/:ref', async (req) => showContact(req.ctx, req.params.ref));
  app.post<RefParams>('/api/contacts/:ref/suppress', async (req) => suppressContact(req.ctx, req.params.ref, parseBody(reasonBody, req.body).reason));
  app.post<RefParams>('/api/contacts/:ref/unsuppress', async (req) => unsuppressContact(req.ctx, req.params.ref, parseBody(reasonBody, req.body).reason));
  // Opt-out and opt-in take no reason in core (the audit row says "by an operator"); one given is ignored.
  app.post<RefParams>('/api/contacts/:ref/opt-out', async (req) => optOutContact(req.ctx, req.params.ref));
  app.post<RefParams>('/api/contacts/:ref/opt-in', async (req) => optInContact(req.ctx, req.params.ref));

  app.get('/api/audience/brands', async () => listBrands(await deps.crm('audience brands')));
  app.get('/api/audience/preview', async (req) => {
    const q = parseQuery(
      z.object({ brand: z.string({ error: 'is required' }).min(1), search: z.string().max(200).optional(), city: z.string().max(200).optional(), limit: queryInt(1, 1000).optional(), offset: queryInt(0, 100_000_000).optional() }),
      req.query,
    );
    return previewAudience(req.ctx, await deps.crm('audience preview'), { ...q, limit: q.limit ?? 50, offset: q.offset ?? 0 });
  });
  app.post('/api/audience/import', async (req, reply) => {
    const b = parseBody(
      z
        .object({ brand: z.string().min(1), ids: z.array(z.union([z.string().min(1), z.number()]).transform(String)).min(1).optional(), all: z.boolean().optional(), search: z.string().optional(), city: z.string().optional() })
        .refine((v) => Boolean(v.ids) !== Boolean(v.all), { message: 'say which users to import: ids [...] or all: true (with search/city to narrow it)', path: ['ids'] }),
      req.body,
    );
    // The import stops after the page being written when the client goes away (committed pages stay).
    const controller = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableEnded) controller.abort();
    });
    return importAudience(req.ctx, await deps.crm('audience import'), { brand: b.brand, ids: b.ids, all: Boolean(b.all), search: b.search, city: b.city, signal: controller.signal });
  });
}
