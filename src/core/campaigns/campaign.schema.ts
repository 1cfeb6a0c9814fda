// The campaign JSON file that `campaign create|apply|edit --file` reads (and the API accepts).
import { z } from 'zod';
import { validationError, zodIssues } from '../errors.js';

export const campaignFileSchema = z.strictObject({
  name: z.string().trim().min(1, 'cannot be empty').max(200, 'must be at most 200 characters').optional(),
  brand: z.string({ error: 'is required: the CRM brand whose contacts this campaign reaches' }).trim().min(1, 'cannot be empty'),
  session: z
    .string()
    .trim()
    .regex(/^[a-zA-Z0-9_-]{1,54}$/, 'must be a WAHA session name: letters, digits, _ and -, at most 54 characters')
    .default('default'),
  template: z.record(z.string(), z.unknown(), { error: 'is required: a template document (see `campaign templates list`)' }),
  mediaAssetId: z.number().int().positive().nullable().optional(),
});

export type CampaignFile = z.output<typeof campaignFileSchema>;

export function parseCampaignFile(input: unknown, source = 'campaign file'): CampaignFile {
  const r = campaignFileSchema.safeParse(input);
  if (!r.success) throw validationError('VALIDATION_FAILED', zodIssues(r.error), `The ${source} is not valid`);
  return r.data;
}
