// Templates: the samples, and validate/render exactly as `campaign templates validate|render`;
// send-test is `campaign preview` (one real send, counted toward the session's limits).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireConfig } from '../../core/config.js';
import { createMediaResolver } from '../../core/media/create-media-resolver.js';
import { getMediaRef, type MediaRef } from '../../core/media/media.repository.js';
import { sendPreview } from '../../core/preview/index.js';
import { compileTemplate, getSample, listSamples, parseTemplateVars } from '../../core/templates/index.js';
import type { Context } from '../../core/context.js';
import { parseBody } from '../parse-input.js';
import type { ServerDeps } from '../server-deps.js';

/** The variables `campaign templates render` uses when none are given. */
const DEMO_VARS = { first_name: 'Amani', brand: 'vaseline', city: 'Kinshasa', source: 'store', store_id: 'KIN-01' };

const mediaId = z.number().int().min(1).optional();

async function compile(ctx: Context, template: unknown, id: number | undefined) {
  const media: MediaRef | undefined = id === undefined ? undefined : await getMediaRef(ctx.db, id);
  return compileTemplate(template, media ? { media } : { mediaPlaceholder: true });
}

export function templateRoutes(app: FastifyInstance, deps: ServerDeps): void {
  app.get('/api/templates/samples', async () => ({
    samples: listSamples().map((s) => {
      const c = compileTemplate(s.template, { mediaPlaceholder: true });
      return { name: s.name, type: c.messageType, endpoint: c.endpoint, experimental: c.experimental, usesMedia: s.usesMedia, description: s.description, template: s.template };
    }),
  }));

  app.get<{ Params: { name: string } }>('/api/templates/samples/:name', async (req) => getSample(req.params.name));

  app.post('/api/templates/validate', async (req) => {
    const b = parseBody(z.object({ template: z.unknown(), mediaAssetId: mediaId }), req.body);
    const c = await compile(req.ctx, b.template, b.mediaAssetId);
    return {
      valid: true, mode: c.mode, type: c.messageType, endpoint: c.endpoint,
      fallback: c.fallback ? { type: c.fallback.messageType, endpoint: c.fallback.endpoint } : null, variables: c.variables, warnings: c.warnings,
    };
  });

  app.post('/api/templates/render', async (req) => {
    const b = parseBody(
      z.object({ template: z.unknown(), vars: z.record(z.string(), z.unknown()).optional(), mediaAssetId: mediaId, session: z.string().min(1).max(54).optional(), chatId: z.string().min(3).max(100).optional() }),
      req.body,
    );
    const vars = parseTemplateVars(b.vars ?? DEMO_VARS);
    const c = await compile(req.ctx, b.template, b.mediaAssetId);
    const target = { session: b.session ?? 'default', chatId: b.chatId ?? '243812345678@c.us' };
    const fallback = c.renderFallback(vars, target);
    return {
      type: c.messageType, endpoint: c.endpoint, payload: c.render(vars, target),
      fallback: fallback ? { type: c.fallback!.messageType, endpoint: c.fallback!.endpoint, payload: fallback } : null, warnings: c.warnings,
    };
  });

  app.post('/api/templates/send-test', async (req) => {
    const b = parseBody(z.object({ campaign: z.union([z.string().min(1), z.number().int()]), testUser: z.union([z.string().min(1), z.number().int()]), template: z.unknown().optional() }), req.body);
    requireConfig(deps.config, ['wahaBaseUrl'], 'preview');
    // An HTTP client waits for the answer: a preview waits at most 30 s for its pacing slot here.
    return sendPreview(
      req.ctx,
      { campaign: String(b.campaign), testUser: String(b.testUser), template: b.template },
      { waha: deps.waha!, resolveMedia: createMediaResolver(req.ctx), maxWaitMs: 30_000 },
    );
  });
}
