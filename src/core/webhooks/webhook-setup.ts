// What WAHA must be told so events reach this server (contract §7.1): the URL, the events the
// receiver acts on, the HMAC key and a retry policy. `campaign serve` prints it, `campaign webhook
// show` compares it with what WAHA has, and `campaign webhook setup` writes it.
import { createHmac } from 'node:crypto';
import type { Config } from '../config.js';
import { CampaignError } from '../errors.js';

export const WEBHOOK_PATH = '/api/webhooks/waha';
/** `message` for inbound replies and opt-outs, `message.any` for our own sends, acks, session health. */
export const WEBHOOK_EVENTS = ['message', 'message.any', 'message.ack', 'session.status'] as const;
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
  /** WAHA's webhooks for this session (secrets masked). */
  configured: WahaWebhookConfig[];
  desired: WahaWebhookConfig;
  /** Problems a person should fix, empty when WAHA has exactly what this server needs. */
  problems: string[];
}

export function compareWebhooks(session: string, status: string | null, configured: WahaWebhookConfig[], desired: WahaWebhookConfig): WebhookComparison {
  const problems: string[] = [];
  const ours = configured.filter((w) => samePath(w.url, desired.url));
  if (ours.length === 0) problems.push(`WAHA session "${session}" has no webhook to ${maskWebhookConfig(desired).url}: delivery and read statuses, replies and opt-outs will not arrive. Run \`campaign webhook setup --session ${session}\`.`);
  if (ours.length > 1) problems.push(`WAHA session "${session}" posts to this server ${ours.length} times: every event arrives more than once.`);
  for (const w of ours.slice(0, 1)) {
    const missing = desired.events.filter((e) => !w.events.includes(e) && !w.events.includes('*'));
    if (missing.length) problems.push(`The webhook lacks the events ${missing.join(', ')}.`);
    if (desired.hmac && !w.hmac) problems.push('WEBHOOK_HMAC_KEY is set but WAHA does not sign this webhook: every event will be refused (401).');
    if (w.url !== desired.url) problems.push('The webhook URL differs from this server\'s (token or query): events may be refused (401).');
  }
  return { session, status, configured: configured.map(maskWebhookConfig), desired: maskWebhookConfig(desired), problems };
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
  getSessionConfig(session: string): Promise<{ status: string | null; config: Record<string, unknown> }>;
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
      return { status: typeof s?.status === 'string' ? s.status : null, config: s?.config && typeof s.config === 'object' ? s.config : {} };
    },
    async putSessionConfig(session, config) {
      await call('PUT', session, { config });
    },
  };
}

export async function showWebhook(port: WahaSessionConfigPort, session: string, baseUrl: string, config: Pick<Config, 'webhookHmacKey' | 'dashboardApiToken'>): Promise<WebhookComparison> {
  const s = await port.getSessionConfig(session);
  const configured = (Array.isArray(s.config.webhooks) ? s.config.webhooks : []).map(toWebhook).filter((w): w is WahaWebhookConfig => w !== undefined);
  return compareWebhooks(session, s.status, configured, desiredWebhookConfig(baseUrl, config));
}

/** Writes this server's webhook into the session config, replacing any earlier one to this server; other webhooks and settings stay. */
export async function setupWebhook(port: WahaSessionConfigPort, session: string, baseUrl: string, config: Pick<Config, 'webhookHmacKey' | 'dashboardApiToken'>): Promise<WebhookComparison> {
  const desired = desiredWebhookConfig(baseUrl, config);
  const s = await port.getSessionConfig(session);
  const others = (Array.isArray(s.config.webhooks) ? s.config.webhooks : []).filter((w: unknown) => !samePath(toWebhook(w)?.url ?? '', desired.url));
  await port.putSessionConfig(session, { ...s.config, webhooks: [...others, desired] });
  return showWebhook(port, session, baseUrl, config);
}
