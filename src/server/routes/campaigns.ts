// Campaigns: the same core calls as `campaign create|edit|show|list|approve|duplicate|archive|
// delete`, `start|pause|resume|cancel|resolve`, `queue build|show|exclusions`, `forecast` and
// `report`. `:id` is a campaign id or name, as on the command line.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { cancelCampaign, pauseCampaign, resumeCampaign, startCampaign } from '../../core/campaigns/campaign-control.js';
import {
  approveCampaign,
  archiveCampaign,
  createCampaign,
  deleteCampaign,
  duplicateCampaign,
  editCampaign,
  listCampaigns,
  showCampaign,
} from '../../core/campaigns/campaign.service.js';
import { forecastCampaign } from '../../core/campaigns/forecast-campaign.js';
import { CAMPAIGN_STATES, type CampaignState, EXCLUSION_REASONS, type ExclusionReason } from '../../core/db/schema.js';
import { buildQueue } from '../../core/queue/build-queue.js';
import { listExclusions, queueSummary } from '../../core/queue/queue-report.js';
import { resolveUnknown } from '../../core/worker/resolve-unknown.js';
import { parseBody, parseQuery, queryBool, queryInt, reasonBody } from '../parse-input.js';
import { sendReport } from '../send-report.js';

type IdParams = { Params: { id: string } };

const statusList = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean))
  .refine((l) => l.every((s) => (CAMPAIGN_STATES as readonly string[]).includes(s)), `must be one or more of ${CAMPAIGN_STATES.join(', ')} (comma-separated)`)
  .transform((l) => l as CampaignState[]);

export function campaignRoutes(app: FastifyInstance): void {
  app.get('/api/campaigns', async (req) => {
    const q = parseQuery(
      z.object({ status: statusList.optional(), archived: queryBool.optional(), search: z.string().max(200).optional(), limit: queryInt(1, 10_000).optional() }),
      req.query,
    );
    return listCampaigns(req.ctx, { status: q.status, archived: q.archived ?? false, search: q.search, limit: q.limit ?? 200 });
  });

  // The body is a campaign file: core parses it (the same messages as `campaign create --file`).
  app.post('/api/campaigns', async (req, reply) => {
    reply.code(201);
    return createCampaign(req.ctx, req.body);
  });

  app.get<IdParams>('/api/campaigns/:id', async (req) => showCampaign(req.ctx, req.params.id));
  app.put<IdParams>('/api/campaigns/:id', async (req) => editCampaign(req.ctx, req.params.id, req.body));
  app.delete<IdParams>('/api/campaigns/:id', async (req) => deleteCampaign(req.ctx, req.params.id));

  app.post<IdParams>('/api/campaigns/:id/approve', async (req) => ({ campaign: await approveCampaign(req.ctx, req.params.id) }));
  app.post<IdParams>('/api/campaigns/:id/duplicate', async (req, reply) => {
    const b = parseBody(z.object({ name: z.string().trim().min(1).max(200).optional() }), req.body);
    reply.code(201);
    return { campaign: await duplicateCampaign(req.ctx, req.params.id, { name: b.name }) };
  });
  app.post<IdParams>('/api/campaigns/:id/archive', async (req) => {
    const b = parseBody(z.object({ undo: z.boolean().optional() }), req.body);
    return { campaign: await archiveCampaign(req.ctx, req.params.id, !b.undo) };
  });

  const control = { start: startCampaign, pause: pauseCampaign, resume: resumeCampaign, cancel: cancelCampaign } as const;
  for (const [verb, fn] of Object.entries(control)) {
    app.post<IdParams>(`/api/campaigns/:id/${verb}`, async (req) => {
      const b = parseBody(reasonBody, req.body);
      return fn(req.ctx, req.params.id, b.reason);
    });
  }

  app.post<IdParams>('/api/campaigns/:id/resolve', async (req) => {
    const b = parseBody(z.object({ decision: z.enum(['resend', 'skip'], { error: 'must be "resend" or "skip"' }), ids: z.array(z.number().int().min(1)).optional() }), req.body);
    return resolveUnknown(req.ctx, req.params.id, b.decision, { ids: b.ids });
  });

  app.post<IdParams>('/api/campaigns/:id/queue/build', async (req) => buildQueue(req.ctx, req.params.id));
  app.get<IdParams>('/api/campaigns/:id/queue', async (req) => queueSummary(req.ctx, req.params.id));
  app.get<IdParams>('/api/campaigns/:id/exclusions', async (req) => {
    const q = parseQuery(
      z.object({
        reason: z.enum(EXCLUSION_REASONS as unknown as [ExclusionReason, ...ExclusionReason[]], { error: `must be one of ${EXCLUSION_REASONS.join(', ')}` }).optional(),
        limit: queryInt(1, 100_000).optional(),
        offset: queryInt(0, 10_000_000).optional(),
      }),
      req.query,
    );
    return listExclusions(req.ctx, req.params.id, { reason: q.reason, limit: q.limit ?? 100, offset: q.offset ?? 0 });
  });
  app.get<IdParams>('/api/campaigns/:id/forecast', async (req) => forecastCampaign(req.ctx, req.params.id));

  app.get<IdParams>('/api/campaigns/:id/report.csv', async (req, reply) => sendReport(req, reply, { campaignId: req.params.id }, 'csv'));
  app.get<IdParams>('/api/campaigns/:id/report.json', async (req, reply) => sendReport(req, reply, { campaignId: req.params.id }, 'json'));
}
