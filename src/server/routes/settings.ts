// Settings: `campaign settings show|set|preset`. A PATCH is validated as a whole set by core,
// so the dashboard gets the very messages the CLI prints (422 SETTINGS_INVALID).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { applyPreset, showSettings, updateSettings } from '../../core/settings/settings.service.js';
import { CampaignError } from '../../core/errors.js';
import { parseBody } from '../parse-input.js';

export function settingsRoutes(app: FastifyInstance): void {
  app.get('/api/settings', async (req) => showSettings(req.ctx));
  app.patch('/api/settings', async (req) => {
    const body = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length === 0) {
      throw new CampaignError('USAGE', 'Send the settings to change as a JSON object, for example {"daily_limit": 30, "hourly_limit": 12}.', {});
    }
    return updateSettings(req.ctx, body as Record<string, unknown>);
  });
  app.post('/api/settings/preset', async (req) => applyPreset(req.ctx, parseBody(z.object({ name: z.string().min(1) }), req.body).name));
}
