// What WAHA must be told so events reach this server (contract §7.1): the URL, the events the
// receiver acts on (once each), the HMAC key, a retry policy, and per engine the session settings
// without which WAHA sends no acks (§2.4, §7.7). `campaign serve` prints it, `campaign webhook
// show` compares it with what WAHA has, and `campaign webhook setup` writes it.
import { createHmac } from 'node:crypto';
import type { Config } from '../config.js';
import { CampaignError } from '../errors.js';

export const WEBHOOK_PATH = '/api/webhooks/waha';
/**
 * The events the receiver acts on (ingest-waha-event.ts), each once. `message.any` carries both
 * directions (§7.6): inbound replies and opt-outs, and our own sends (confirming them and proving
 * UNKNOWN rows, promise 2). `message` would repeat every inbound under a second envelope id, so it
 * is not asked for (the maintainer's advice, issue #1384); the receiver still tolerates it.
 * `message.ack` for delivery and read receipts (DMs: campaigns never send to groups, so
 * `message.ack.group` is not needed), `session.status` for session health.
 */
export const WEBHOOK_EVENTS = ['message.any', 'message.ack', 'session.status'] as const;
/** Events that repeat what WEBHOOK_EVENTS already bring: every inbound arrives twice with them. */
const DOUBLING_EVENTS = ['message', '*'];

/**
 * Engine settings the receiver needs (§2.4, §7.7): WEBJS emits `message.ack` only with
 * `config.webjs.tagsEventsOn` (off by default; group acks need it in any case, issue #1311).
 * NOWEB and GOWS need nothing. An engine WAHA did not name gets the WEBJS setting too: the other
 * engines do not read `webjs`, and missing acks are worse than an unused flag.
 */
export function engineConfigNeeded(engine: string | null): Record<string, Record<string, unknown>> {
  if (engine === 'NOWEB' || engine === 'GOWS') return {};
  return { webjs: { tagsEventsOn: true } };
}

/**
 * WAHA keeps deliveries in memory only (§7.3), so retries are the only buffer while this server is
 * down: exponential from 2 s over 10 attempts spans about an hour.
 */
export const WEBHOOK_RETRIES = { policy: 'exponential', delaySeconds: 2, attempts: 10 } as const;

/**
 * How webhook requests are authenticated: the HMAC header when WEBHOOK_HMAC_KEY is set; else a
 * token in the URL; `unsigned` only when the operator passed --allow-unsigned-webhooks.
 */
export type WebhookAuthMode = 'hmac' | 'token' | 'unsigned';

export function webhookAuthMode(config: Pick<Config, 'webhookHmacKey' | 'dashboardApiToken'>, allowUnsigned = false): WebhookAuthMode | 'refused' {
  if (config.webhookHmacKey) return 'hmac';
  if (allowUnsigned) return 'unsigned';
  if (config.dashboardApiToken) return 'token';
  return 'refused';
}

/**
 * The URL token is derived from DASHBOARD_API_TOKEN rather than being it: the URL sits in WAHA's
 * session config (and its logs), and must not open the API to whoever reads them.
 */
export function webhookUrlToken(dashboardApiToken: string): string {
  return createHmac('sha256', dashboardApiToken).update('campaign waha webhook url token v1').digest('hex').slice(0, 40);
}

/** The URL to give WAHA: with `?token=` unless requests are HMAC-signed (or unsigned by choice). */
export function webhookUrl(baseUrl: string, config: Pick<Config, 'webhookHmacKey' | 'dashboardApiToken'>, allowUnsigned = false): string {
  const url = `${baseUrl.replace(/\/+$/, '')}${WEBHOOK_PATH}`;
  const mode = webhookAuthMode(config, allowUnsigned);
  return mode === 'token' ? `${url}?token=${webhookUrlToken(config.dashboardApiToken!)}` : url;
}

export interface WahaWebhookConfig {
  url: string;
  events: string[];
  hmac: { key: string } | null;
  retries: { policy: string; delaySeconds: number; attempts: number } | null;
  customHeaders: Array<{ name: string; value: string }> | null;
}

export function desiredWebhookConfig(baseUrl: string, config: Pick<Config, 'webhookHmacKey' | 'dashboardApiToken'>): WahaWebhookConfig {
  return {
    url: webhookUrl(baseUrl, config),
    events: [...WEBHOOK_EVENTS],
    hmac: config.webhookHmacKey ? { key: config.webhookHmacKey } : null,
    retries: { ...WEBHOOK_RETRIES },
    customHeaders: null,
  };
}

/** The same config with secrets masked, for printing. */
export function maskWebhookConfig(w: WahaWebhookConfig): WahaWebhookConfig {
  return { ...w, url: w.url.replace(/([?&]token=)[^&]+/, '$1****'), hmac: w.hmac ? { key: '****' } : null };
}

const samePath = (a: string, b: string): boolean => {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.host === y.host && x.pathname.replace(/\/+$/, '') === y.pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
};

export interface WebhookComparison {
  session: string;
  status: string | null;
  /** The session's engine as WAHA names it (GET /api/sessions/{session}), null when unknown. */
  engine: string | null;
  /** WAHA's webhooks for this session (secrets masked). */
  configured: WahaWebhookConfig[];
  desired: WahaWebhookConfig;
  /** Engine settings this server needs in the session config (e.g. WEBJS `webjs.tagsEventsOn`). */
  engineConfig: Record<string, Record<string, unknown>>;
  /** Problems a person should fix, empty when WAHA has exactly what this server needs. */
  problems: string[];
}

export function compareWebhooks(
  session: string, status: string | null, configured: WahaWebhookConfig[], desired: WahaWebhookConfig,
  engine: string | null = null, sessionConfig: Record<string, unknown> = {},
): WebhookComparison {
  const problems: string[] = [];
  const ours = configured.filter((w) => samePath(w.url, desired.url));
  const fix = `Run \`campaign webhook setup --session ${session}\`.`;
  if (ours.length === 0) problems.push(`WAHA session "${session}" has no webhook to ${maskWebhookConfig(desired).url}: delivery and read statuses, replies and opt-outs will not arrive. ${fix}`);
  if (ours.length > 1) problems.push(`WAHA session "${session}" posts to this server ${ours.length} times: every event arrives more than once.`);
  for (const w of ours.slice(0, 1)) {
    const missing = desired.events.filter((e) => !w.events.includes(e) && !w.events.includes('*'));
    if (missing.length) problems.push(`The webhook lacks the events ${missing.join(', ')}. ${fix}`);
    const doubling = w.events.filter((e) => DOUBLING_EVENTS.includes(e));
    if (doubling.length) problems.push(`The webhook subscribes to ${doubling.join(', ')} besides message.any: every inbound message arrives twice (the second copy is ignored). ${fix}`);
    if (desired.hmac && !w.hmac) problems.push('WEBHOOK_HMAC_KEY is set but WAHA does not sign this webhook: every event will be refused (401).');
    if (w.url !== desired.url) problems.push('The webhook URL differs from this server\'s (token or query): events may be refused (401).');
  }
  const engineConfig = engineConfigNeeded(engine);
  for (const [key, wanted] of Object.entries(engineConfig)) {
    const have = sessionConfig[key] !== null && typeof sessionConfig[key] === 'object' ? (sessionConfig[key] as Record<string, unknown>) : {};
    for (const [field, value] of Object.entries(wanted)) {
      if (have[field] !== value) problems.push(`The session config lacks ${key}.${field}: ${JSON.stringify(value)}${engine ? ` (${engine})` : ''}: WAHA will not send message.ack (delivery and read statuses). ${fix}`);
    }
  }
  return { session, status, engine, configured: configured.map(maskWebhookConfig), desired: maskWebhookConfig(desired), engineConfig, problems };
}

function toWebhook(v: unknown): WahaWebhookConfig | undefined {
  const w = v as Record<string, any> | null;
  if (!w || typeof w.url !== 'string') return undefined;
  return {
    url: w.url,
    events: Array.isArray(w.events) ? w.events.map(String) : [],
    hmac: w.hmac && typeof w.hmac === 'object' ? { key: String(w.hmac.key ?? '') } : null,
    retries: w.retries && typeof w.retries === 'object' ? w.retries : null,
    customHeaders: Array.isArray(w.customHeaders) ? w.customHeaders : null,
  };
}

export interface WahaSessionConfigPort {
  getSessionConfig(session: string): Promise<{ status: string | null; engine: string | null; config: Record<string, unknown> }>;
  putSessionConfig(session: string, config: Record<string, unknown>): Promise<void>;
}

/** GET/PUT /api/sessions/{session} (contract §2.3, §2.4), the two calls the set-up needs. */
export function createWahaSessionConfigClient(opts: { baseUrl: string; apiKey?: string; timeoutMs?: number }): WahaSessionConfigPort {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const headers = { accept: 'application/json', 'content-type': 'application/json', ...(opts.apiKey ? { 'x-api-key': opts.apiKey } : {}) };
  const call = async (method: 'GET' | 'PUT', session: string, body?: unknown): Promise<any> => {
    const url = `${base}/api/sessions/${encodeURIComponent(session)}`;
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
    } catch (e) {
      throw new CampaignError('WAHA_UNAVAILABLE', `WAHA at ${base} is not reachable (${(e as Error).message}). Check WAHA_BASE_URL.`, { url });
    }
    const text = await res.text().catch(() => '');
    if (res.status === 404) throw new CampaignError('SESSION_NOT_FOUND', `WAHA has no session "${session}". \`campaign sessions\` lists the sessions WAHA has.`, { session });
    if (res.status === 401 || res.status === 403) throw new CampaignError('WAHA_REJECTED', `WAHA refused the API key (${res.status}). Check WAHA_API_KEY.`, { status: res.status });
    if (!res.ok) throw new CampaignError(res.status >= 500 ? 'WAHA_UNAVAILABLE' : 'WAHA_REJECTED', `WAHA answered ${res.status} to ${method} ${url}: ${text.slice(0, 300)}`, { status: res.status });
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      return {};
    }
  };
  return {
    async getSessionConfig(session) {
      const s = await call('GET', session);
      const engine = typeof s?.engine?.engine === 'string' ? s.engine.engine : typeof s?.engine === 'string' ? s.engine : null;
      return { status: typeof s?.status === 'string' ? s.status : null, engine, config: s?.config && typeof s.config === 'object' ? s.config : {} };
    },
    async putSessionConfig(session, config) {
      await call('PUT', session, { config });
    },
  };
}

export async function showWebhook(port: WahaSessionConfigPort, session: string, baseUrl: string, config: Pick<Config, 'webhookHmacKey' | 'dashboardApiToken'>): Promise<WebhookComparison> {
  const s = await port.getSessionConfig(session);
  const configured = (Array.isArray(s.config.webhooks) ? s.config.webhooks : []).map(toWebhook).filter((w): w is WahaWebhookConfig => w !== undefined);
  return compareWebhooks(session, s.status, configured, desiredWebhookConfig(baseUrl, config), s.engine, s.config);
}

/** A webhook entry as PUT wants it: WAHA's validation types hmac, retries and customHeaders as objects, so nulls are left out. */
function withoutNulls(w: WahaWebhookConfig): Record<string, unknown> {
  return Object.fromEntries(Object.entries(w).filter(([, v]) => v !== null));
}

/**
 * Writes this server's webhook into the session config (PUT replaces the whole config, §2.4), with
 * the engine settings the receiver needs. Everything else the operator set stays: other webhooks,
 * metadata, proxy, the other `webjs` fields, and custom headers already on our webhook.
 */
export async function setupWebhook(port: WahaSessionConfigPort, session: string, baseUrl: string, config: Pick<Config, 'webhookHmacKey' | 'dashboardApiToken'>): Promise<WebhookComparison> {
  const desired = desiredWebhookConfig(baseUrl, config);
  const s = await port.getSessionConfig(session);
  const webhooks: unknown[] = Array.isArray(s.config.webhooks) ? s.config.webhooks : [];
  const previous = webhooks.map(toWebhook).find((w) => w && samePath(w.url, desired.url));
  const others = webhooks.filter((w) => !samePath(toWebhook(w)?.url ?? '', desired.url));
  const ours = withoutNulls({ ...desired, customHeaders: previous?.customHeaders ?? null });
  const next: Record<string, unknown> = { ...s.config, webhooks: [...others, ours] };
  for (const [key, wanted] of Object.entries(engineConfigNeeded(s.engine))) {
    const have = next[key] !== null && typeof next[key] === 'object' ? (next[key] as Record<string, unknown>) : {};
    next[key] = { ...have, ...wanted };
  }
  await port.putSessionConfig(session, next);
  return showWebhook(port, session, baseUrl, config);
}
