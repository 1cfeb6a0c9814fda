// WAHA's message ids differ by engine and by place (contract §5.1, §7.8): the send response
// holds `id._serialized` (WEBJS), `key.id` (NOWEB, raw id only) or `id` (GOWS, NOWEB polls), and
// webhooks use `{fromMe}_{chat}_{raw}[_{participant}]` with a chat part that may be @c.us, @lid
// or @s.whatsapp.net. Only the raw segment is stable, so everything is matched on it.

/** The raw id (third `_` segment) of a serialized id; a bare raw id is returned unchanged. */
export function rawMessageId(id: string): string {
  const parts = id.split('_');
  if (parts.length >= 3 && (parts[0] === 'true' || parts[0] === 'false')) return parts[2]!;
  return id;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The message id in a send response of any engine, or undefined (empty body: WEBJS 2025.6.5, issues #1083/#1087). */
export function messageIdFromResponse(body: unknown): string | undefined {
  const b = obj(body);
  if (!b) return undefined;
  const direct = nonEmpty(b.id);
  if (direct) return direct; // GOWS, NOWEB sendPoll/forward (a normalized WAMessage)
  const serialized = nonEmpty(obj(b.id)?._serialized) ?? nonEmpty(obj(obj(obj(b._data)?.id))?._serialized);
  if (serialized) return serialized; // WEBJS
  return nonEmpty(obj(b.key)?.id); // NOWEB: raw Baileys WebMessageInfo
}
