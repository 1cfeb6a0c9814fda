// GET /api/docs: the README (the operator manual) for the dashboard's Docs page.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CampaignError } from '../../core/errors.js';
import { packageRoot } from '../package-root.js';

export function docsRoutes(app: FastifyInstance): void {
  app.get('/api/docs', async (_req, reply) => {
    const text = await readFile(join(packageRoot(), 'README.md'), 'utf8').catch(() => {
      throw new CampaignError('NOT_FOUND', 'README.md is not installed next to this server.', {});
    });
    return reply.header('content-type', 'text/markdown; charset=utf-8').send(text);
  });
}
