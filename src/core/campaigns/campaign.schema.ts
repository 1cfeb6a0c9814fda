// The campaign JSON file that `campaign create|apply|edit --file` reads (and the API accepts).
import { z } from 'zod';
import { parseWith } from '../errors.js';

/** Said when the whole file is not an object (an array, null, a bare string). */
const NOT_AN_OBJECT = 'a campaign file must be one JSON object such as {"name": "November promo", "brand": "vaseline", "template": {…}} (see the README, "Campaign files")';

export const campaignFileSchema = z.strictObject(
  {
    name: z.string({ error: 'must be text: the campaign name' }).trim().min(1, 'cannot be empty').max(200, 'must be at most 200 characters').optional(),
    brand: z
      .string({ error: (i) => (i.input === undefined ? 'is required: the CRM brand whose contacts this campaign reaches' : 'must be text: the CRM brand, for example "vaseline"') })
      .trim()
      .min(1, 'cannot be empty'),
    session: z
      .string({ error: 'must be text: a WAHA session name such as "default"' })
      .trim()
      .regex(/^[a-zA-Z0-9_-]{1,54}$/, 'must be a WAHA session name: letters, digits, _ and -, at most 54 characters')
      .default('default'),
    template: z.record(z.string(), z.unknown(), {
      error: (i) =>
        i.input === undefined
          ? 'is required: a template document (see `campaign templates list`)'
          : 'must be a JSON object such as {"mode": "simple", "type": "text", "text": "Hi {{first_name}}"} (see `campaign templates list`)',
    }),
    mediaAssetId: z
      .number({ error: 'must be a Media Gallery asset id (a number; `campaign media list` shows them) or null' })
      .int('must be a whole number: a Media Gallery asset id')
      .positive('must be a Media Gallery asset id (1 or more)')
      .nullable()
      .optional(),
  },
  { error: (i) => (i.code === 'invalid_type' ? NOT_AN_OBJECT : undefined) },
);

export type CampaignFile = z.output<typeof campaignFileSchema>;

export function parseCampaignFile(input: unknown, source = 'campaign file'): CampaignFile {
  return parseWith(campaignFileSchema, input, 'VALIDATION_FAILED', `The ${source} is not valid`);
}
