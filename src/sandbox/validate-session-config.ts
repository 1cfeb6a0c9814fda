// The body of PUT /api/sessions/{session} checked as WAHA's validation pipe checks it (contract §2.4,
// §7.1; spec `SessionUpdateRequest` → `SessionConfig`, `WebhookConfig`): the sessions endpoints run
// WAHAValidationPipe, so a wrong body is a 400 listing every problem, NestJS style. Like
// class-validator's @IsOptional, null stands for "absent" on optional fields. Unknown fields are
// stripped (whitelist), not refused, as WAHA does unless WAHA_HTTP_STRICT_MODE is set.
// tests/integration/webhook-setup.test.ts checks these rules against the published OpenAPI.

/** Every event a webhook may name (§7.5), and `*` for all of them. */
export const WAHA_EVENTS = [
  'session.status', 'message', 'message.reaction', 'message.any', 'message.ack', 'message.ack.group', 'message.waiting', 'message.revoked',
  'message.edited', 'state.change', 'group.join', 'group.leave', 'group.v2.join', 'group.v2.leave', 'group.v2.update', 'group.v2.participants',
  'presence.update', 'poll.vote', 'poll.vote.failed', 'chat.archive', 'call.received', 'call.accepted', 'call.rejected', 'label.upsert',
  'label.deleted', 'label.chat.added', 'label.chat.deleted', 'event.response', 'event.response.failed', 'engine.event',
] as const;

/** `*` expands to every event except these (§7.1, `WAHAEventsWild`). */
export const NOT_IN_WILDCARD = ['state.change', 'engine.event'];

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const absent = (v: unknown) => v === undefined || v === null;

type Field = (v: unknown, path: string, out: string[]) => void;

const str: Field = (v, p, out) => void (typeof v !== 'string' && out.push(`${p} must be a string`));
const bool: Field = (v, p, out) => void (typeof v !== 'boolean' && out.push(`${p} must be a boolean value`));
const num: Field = (v, p, out) => void ((typeof v !== 'number' || !Number.isFinite(v)) && out.push(`${p} must be a number conforming to the specified constraints`));

/** An object whose listed fields are checked; `required` fields must be present and not null. */
function object(fields: Record<string, Field>, required: string[] = []): Field {
  return (v, p, out) => {
    if (!isObj(v)) return void out.push(`${p} must be an object`);
    for (const r of required) if (absent(v[r])) out.push(`${p}.${r} should not be empty`);
    for (const [k, check] of Object.entries(fields)) if (!absent(v[k])) check(v[k], `${p}.${k}`, out);
  };
}

function arrayOf(item: Field): Field {
  return (v, p, out) => {
    if (!Array.isArray(v)) return void out.push(`${p} must be an array`);
    v.forEach((x, i) => item(x, `${p}.${i}`, out));
  };
}

const url: Field = (v, p, out) => {
  // IsUrl({require_tld: false}): a protocol is required, no TLD needed.
  if (typeof v !== 'string' || !/^https?:\/\/[^\s/?#]+/i.test(v)) out.push(`${p} must be a URL address`);
};

const event: Field = (v, p, out) => {
  if (typeof v !== 'string' || !(v === '*' || (WAHA_EVENTS as readonly string[]).includes(v))) out.push(`${p} must be one of the following values: *, ${WAHA_EVENTS.join(', ')}`);
};

const webhook = object(
  {
    url,
    events: arrayOf(event),
    hmac: object({ key: str }),
    retries: object({
      delaySeconds: num,
      attempts: num,
      policy: (v, p, out) => void (!['linear', 'exponential', 'constant'].includes(String(v)) && out.push(`${p} must be one of the following values: linear, exponential, constant`)),
    }),
    customHeaders: arrayOf(object({ name: str, value: str }, ['name', 'value'])),
  },
  ['url', 'events'],
);

const sessionConfig = object({
  metadata: (v, p, out) => {
    if (!isObj(v)) return void out.push(`${p} must be an object`);
    for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') out.push(`${p}.${k} must be a string`);
  },
  proxy: object({ server: str, username: str, password: str }, ['server']),
  debug: bool,
  ignore: object({ status: bool, groups: bool, channels: bool, broadcast: bool }),
  client: object({ deviceName: str, browserName: str }),
  noweb: object({ markOnline: bool, store: object({ enabled: bool, fullSync: bool }) }, ['markOnline']),
  gows: object({ storage: object({ messages: bool, groups: bool, chats: bool, labels: bool }) }),
  webjs: object({ tagsEventsOn: bool }),
  webhooks: arrayOf(webhook),
});

const KNOWN_CONFIG_FIELDS = ['metadata', 'proxy', 'debug', 'ignore', 'client', 'noweb', 'gows', 'webjs', 'webhooks'];

export type SessionUpdate = { ok: true; config: Record<string, unknown> | undefined } | { ok: false; messages: string[] };

/** Checks a PUT body; on success returns the config WAHA would keep (unknown top-level fields stripped). */
export function validateSessionUpdate(body: unknown): SessionUpdate {
  if (!isObj(body)) return { ok: false, messages: ['the body must be a JSON object'] };
  const out: string[] = [];
  if (!absent(body.apps) && !Array.isArray(body.apps)) out.push('apps must be an array');
  if (absent(body.config)) return out.length ? { ok: false, messages: out } : { ok: true, config: undefined };
  sessionConfig(body.config, 'config', out);
  if (out.length) return { ok: false, messages: out };
  const c = body.config as Record<string, unknown>;
  return { ok: true, config: Object.fromEntries(Object.entries(c).filter(([k]) => KNOWN_CONFIG_FIELDS.includes(k))) };
}

/** Whether a webhook subscribed to `events` gets `event`. */
export function subscribed(events: unknown, event: string): boolean {
  if (!Array.isArray(events)) return false;
  return events.includes(event) || (events.includes('*') && !NOT_IN_WILDCARD.includes(event));
}
