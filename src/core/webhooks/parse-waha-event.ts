// Reads a WAHA webhook body (contract §7.4–7.9) into the few fields the receiver acts on. Only
// the envelope must be well formed; payloads differ by engine and version, so every payload
// field is optional here and an event we cannot read is still stored (promise 6).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CampaignError, zodIssues } from '../errors.js';
import { rawMessageId } from '../waha/message-id.js';

const envelopeSchema = z.object({
  id: z.string().min(1).max(200).optional(),
  event: z.string({ error: 'is required (the WAHA event name)' }).min(1, 'is required (the WAHA event name)').max(100),
  session: z.string().max(200).nullish(),
  timestamp: z.number().nullish(),
  payload: z.unknown().optional(),
  engine: z.unknown().optional(),
});

export interface WahaEvent {
  /** WAHA's envelope id (`evt_…`): the idempotency key (contract §7.4). */
  eventId: string;
  event: string;
  session: string | null;
  /** Envelope time, ms. */
  timestampMs: number | null;
  payload: Record<string, unknown>;
  /** The serialized message id as WAHA sent it (`true_<chat>_<raw>`), when the payload has one. */
  messageId: string | null;
  /** Its raw segment: the only part stable across engines (contract §7.8). */
  rawId: string | null;
  /** The chat, normalised to `<digits>@c.us` when it is a phone JID, as contacts store it. */
  chatId: string | null;
  fromMe: boolean | null;
  ack: number | null;
  /** For an ERROR ack (-1): what WAHA said about the failure, for last_error; else null. */
  ackReason: string | null;
  /** Message text (`message` / `message.any`). */
  body: string | null;
  /** Message time, ms (payload.timestamp is seconds). */
  messageAtMs: number | null;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** `2438…@s.whatsapp.net` and `2438…:12@s.whatsapp.net` are the same chat as `2438…@c.us`. */
export function normaliseChatId(chat: string): string {
  const c = chat.trim();
  const m = /^(\d+)(?::\d+)?@(?:s\.whatsapp\.net|c\.us)$/.exec(c);
  return m ? `${m[1]}@c.us` : c;
}

function messageIdOf(payload: Record<string, unknown>): string | null {
  const id = payload.id;
  if (typeof id === 'string' && id !== '') return id;
  const serialized = obj(id)?._serialized;
  return typeof serialized === 'string' && serialized !== '' ? serialized : null;
}

/** The chat segment of `{fromMe}_{chat}_{raw}[_{participant}]`, else from/to by direction. */
function chatOf(messageId: string | null, payload: Record<string, unknown>, fromMe: boolean | null): string | null {
  if (messageId) {
    const parts = messageId.split('_');
    if (parts.length >= 3 && (parts[0] === 'true' || parts[0] === 'false') && parts[1]) return normaliseChatId(parts[1]);
  }
  const to = typeof payload.to === 'string' ? payload.to : null;
  const from = typeof payload.from === 'string' ? payload.from : null;
  // WEBJS: from = sender (us for fromMe), to = recipient; NOWEB/GOWS: from = the chat (§7.6).
  const chat = fromMe && to ? to : from;
  return chat ? normaliseChatId(chat) : null;
}

/**
 * WAHA's account of an ERROR ack (contract §6.4, §7.7). No engine sends a message text: WEBJS
 * marks `_data.isSendFailure` (cold contacts, #2118), GOWS passes the whatsmeow receipt whose
 * `Type` is `server-error`, NOWEB has no `_data`. Any error text a payload does carry is kept.
 */
export function ackErrorReason(payload: Record<string, unknown>, engine: string | null): string {
  const data = obj(payload._data);
  const details: string[] = [];
  for (const v of [payload.error, payload.reason, data?.error, data?.errorMessage]) {
    if (typeof v === 'string' && v.trim() !== '') details.push(v.trim());
    else if (obj(v) && typeof obj(v)!.message === 'string') details.push(String(obj(v)!.message));
  }
  if (data?.isSendFailure === true) details.push('send failure (_data.isSendFailure)');
  if (typeof data?.Type === 'string' && data.Type !== '') details.push(`receipt ${data.Type}`);
  const text = `WhatsApp reported a delivery error (ack ERROR${engine ? `, ${engine}` : ''})${details.length ? `: ${details.join('; ')}` : ''}`;
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/** Parses the raw body; malformed JSON or a body that is not a WAHA envelope is a 400 (USAGE). */
export function parseWahaEvent(rawBody: Buffer | string): WahaEvent {
  const text = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CampaignError('USAGE', `The webhook body is not valid JSON: ${(e as Error).message}`, {});
  }
  if (!obj(doc)) throw new CampaignError('USAGE', 'The webhook body must be a JSON object (a WAHA event envelope).', {});
  const parsed = envelopeSchema.safeParse(doc);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    throw new CampaignError('USAGE', `The webhook body is not a WAHA event envelope: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  const env = parsed.data;
  const payload = obj(env.payload) ?? {};
  const messageId = messageIdOf(payload);
  const fromMe = typeof payload.fromMe === 'boolean' ? payload.fromMe : messageId?.startsWith('true_') ? true : messageId?.startsWith('false_') ? false : null;
  const ack = typeof payload.ack === 'number' && Number.isInteger(payload.ack) ? payload.ack : null;
  const ts = typeof payload.timestamp === 'number' ? payload.timestamp : null;
  return {
    // An envelope without an id (not WAHA's own shape) gets one from its bytes, so that an
    // identical retry is still recognised as a duplicate.
    eventId: env.id ?? `sha256_${createHash('sha256').update(text).digest('hex').slice(0, 40)}`,
    event: env.event,
    session: env.session ?? null,
    timestampMs: env.timestamp ?? null,
    payload,
    messageId,
    rawId: messageId ? rawMessageId(messageId) : null,
    chatId: chatOf(messageId, payload, fromMe),
    fromMe,
    ack,
    ackReason: ack === -1 ? ackErrorReason(payload, typeof env.engine === 'string' ? env.engine.slice(0, 20) : null) : null,
    body: typeof payload.body === 'string' ? payload.body : null,
    // Seconds by the contract; tolerate ms from odd engines.
    messageAtMs: ts === null ? null : ts > 1e12 ? ts : ts * 1000,
  };
}
