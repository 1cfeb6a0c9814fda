// The faults the sandbox can inject, settable at start (`--faults`) and at run time
// (`POST /_sandbox/faults`). Each one reproduces a WAHA behaviour from the contract that the
// worker and the webhook receiver must survive.
import { z } from 'zod';
import { closest } from '../core/did-you-mean.js';
import { CampaignError, zodIssues } from '../core/errors.js';

export interface Faults {
  /** Delay before every /api answer, ms: a number or [min, max]. */
  latencyMs: number | [number, number];
  /** Share of sends (0–1) held past the client's timeout; the message is still recorded and "sent" (UNKNOWN rows become reconcilable). */
  timeoutRate: number;
  /** How long a held send waits before answering anyway, unless the client hangs up first. */
  timeoutHoldMs: number;
  /** Share of sends (0–1) answered with WAHA's 500 body; nothing is sent. */
  errorRate5xx: number;
  /** sendButtons and sendList answer 501 whatever the engine. */
  notImplementedButtons: boolean;
  /** Share of sent messages (0–1) that never get a message.ack. */
  lostAckRate: number;
  /** Share of webhook events (0–1) delivered twice with the same envelope id. */
  duplicateWebhookRate: number;
  /** message.any and the SERVER ack are delivered before the HTTP answer (contract §7.8). */
  acksBeforeResponse: boolean;
  /** After this many accepted sends on a session it drops to SCAN_QR_CODE and answers 422; null = never. */
  dropSessionAfter: number | null;
}

export const NO_FAULTS: Faults = {
  latencyMs: 0,
  timeoutRate: 0,
  timeoutHoldMs: 120_000,
  errorRate5xx: 0,
  notImplementedButtons: false,
  lostAckRate: 0,
  duplicateWebhookRate: 0,
  acksBeforeResponse: false,
  dropSessionAfter: null,
};

const rate = z.number().min(0).max(1);
const ms = z.number().int().min(0);
const faultsSchema = z
  .object({
    latencyMs: z.union([ms, z.tuple([ms, ms]).refine(([a, b]) => a <= b, 'the range must be [min, max]')]),
    timeoutRate: rate,
    timeoutHoldMs: ms,
    errorRate5xx: rate,
    notImplementedButtons: z.boolean(),
    lostAckRate: rate,
    duplicateWebhookRate: rate,
    acksBeforeResponse: z.boolean(),
    dropSessionAfter: z.number().int().min(1).nullable(),
  })
  .partial()
  .strict();

const KEYS = Object.keys(NO_FAULTS);

function scalar(raw: string): unknown {
  const v = raw.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v === 'null' || v === 'off') return null;
  const range = /^(\d+)\s*(?:-|\.\.)\s*(\d+)$/.exec(v);
  if (range) return [Number(range[1]), Number(range[2])];
  const n = Number(v);
  return v !== '' && Number.isFinite(n) ? n : v;
}

/**
 * Validates a partial set of faults: an object, JSON text, or `key=value,...`
 * (`timeoutRate=0.1,latencyMs=100-300,notImplementedButtons=true`).
 */
export function parseFaults(input: unknown): Partial<Faults> {
  let value = input;
  if (typeof input === 'string') {
    const text = input.trim();
    if (text === '') return {};
    if (text.startsWith('{')) {
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new CampaignError('USAGE', `--faults is not valid JSON: ${(e as Error).message}`);
      }
    } else {
      const out: Record<string, unknown> = {};
      for (const pair of text.split(',')) {
        const i = pair.indexOf('=');
        if (i <= 0) throw new CampaignError('USAGE', `--faults: "${pair.trim()}" is not key=value (for example timeoutRate=0.1)`);
        out[pair.slice(0, i).trim()] = scalar(pair.slice(i + 1));
      }
      value = out;
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CampaignError('USAGE', `faults must be an object of ${KEYS.join(', ')}`);
  }
  for (const key of Object.keys(value)) {
    if (!KEYS.includes(key)) {
      const near = closest(key, KEYS);
      throw new CampaignError('USAGE', `unknown fault "${key}"${near ? ` (did you mean "${near}"?)` : ''}; known faults: ${KEYS.join(', ')}`, { key });
    }
  }
  const parsed = faultsSchema.safeParse(value);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    throw new CampaignError('USAGE', `faults: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, { issues });
  }
  return parsed.data as Partial<Faults>;
}
