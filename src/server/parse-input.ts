// Input at the HTTP edge is parsed with zod (DESIGN.md): query strings and path parameters are
// the API's flags (a mistake is USAGE, 400, as on the command line); JSON bodies are documents
// (VALIDATION_FAILED, 422). Bodies the core parses itself (campaign files, settings) pass through.
import { z } from 'zod';
import { CampaignError, parseWith } from '../core/errors.js';

export function parseQuery<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  return parseWith(schema, value ?? {}, 'USAGE', 'Query parameters are not valid');
}

export function parseBody<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  return parseWith(schema, value ?? {}, 'VALIDATION_FAILED', 'The request body is not valid');
}

/** "yes"/"no"/"true"/"false"/"1"/"0" query flags. */
export const queryBool = z
  .enum(['yes', 'no', 'true', 'false', '1', '0'], { error: 'must be yes or no' })
  .transform((v) => v === 'yes' || v === 'true' || v === '1');

export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be from ${min} to ${max}`);

export const positiveId = (what: string) =>
  z.string().regex(/^\d+$/, `must be a ${what} id (a whole number)`).transform(Number).refine((n) => n >= 1, `must be a ${what} id`);

export function idParam(value: unknown, what: string): number {
  const r = positiveId(what).safeParse(value);
  if (r.success) return r.data;
  throw new CampaignError('USAGE', `"${String(value)}" is not a ${what} id.`, {});
}

export const reasonBody = z.object({ reason: z.string().max(500).optional() }).passthrough();
