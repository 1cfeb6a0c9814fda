// The environment, read once and validated with zod. Values come from the process environment
// and an optional `.env` in the working directory; the process environment wins.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { CampaignError, zodIssues } from './errors.js';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const optionalUrl = (protocols: string[], example: string) =>
  optionalString.refine(
    (v) => {
      if (v === undefined) return true;
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}, for example ${example}` },
  );

const envSchema = z.object({
  DATABASE_URL: optionalUrl(['postgres:', 'postgresql:'], 'postgres://user:pass@127.0.0.1:5432/campaign'),
  DATABASE_OWNER_URL: optionalUrl(['postgres:', 'postgresql:'], 'postgres://owner:pass@127.0.0.1:5432/campaign'),
  SUPABASE_URL: optionalUrl(['http:', 'https:'], 'https://abcd.supabase.co'),
  SUPABASE_SERVICE_KEY: optionalString,
  WAHA_BASE_URL: optionalUrl(['http:', 'https:'], 'http://127.0.0.1:3000'),
  WAHA_API_KEY: optionalString,
  DASHBOARD_API_TOKEN: optionalString,
  PUBLIC_MEDIA_BASE_URL: optionalUrl(['http:', 'https:'], 'https://campaign.example.com/media'),
  PUBLIC_DASHBOARD_BASE_URL: optionalUrl(['http:', 'https:'], 'https://campaign.example.com'),
  WEBHOOK_HMAC_KEY: optionalString,
  MEDIA_DIR: optionalString,
  CAMPAIGN_HOME: optionalString,
  CAMPAIGN_ACTOR: optionalString,
  CRM_SCHEMA: optionalString,
  PORT: optionalString.refine((v) => v === undefined || /^\d{1,5}$/.test(v), { message: 'must be a port number such as 4100' }),
  TRUST_PROXY: optionalString.superRefine((v, ctx) => {
    const problem = v === undefined ? undefined : trustProxyProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
});

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.includes(entry)) return true;
  const [addr, bits, extra] = entry.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

// promise 8: a client's address comes from X-Forwarded-For only when the proxy is named here.
// No `true` and no hop count: neither can tell the proxy from a client that sends the header
// itself (fastify 5 treats a hop count as trusting nobody for that reason).
function trustProxyProblem(v: string): string | undefined {
  if (/^(false|no|0)$/i.test(v)) return undefined;
  const fix = "name the proxy's addresses instead, comma-separated (e.g. 127.0.0.1 or 172.18.0.0/16), or false";
  if (/^(true|yes)$/i.test(v)) return `must not be true: that believes X-Forwarded-For from any client, so anyone can pick their address; ${fix}`;
  if (/^\d+$/.test(v)) return `must not be a hop count: it cannot tell the proxy from a client that sends X-Forwarded-For itself; ${fix}`;
  const bad = v.split(',').map((s) => s.trim()).filter((s) => !isProxyAddress(s));
  return bad.length === 0 ? undefined : `has ${bad.map((b) => `"${b}"`).join(', ')}, which is not an IP address, a CIDR range (10.0.0.0/8), loopback, linklocal or uniquelocal; ${fix}`;
}

/** TRUST_PROXY as fastify's trustProxy takes it: undefined trusts no proxy. */
function parseTrustProxy(v: string | undefined): string[] | undefined {
  if (v === undefined || /^(false|no|0)$/i.test(v)) return undefined;
  return v.split(',').map((s) => s.trim());
}

export interface Config {
  databaseUrl?: string;
  /** The owner role `campaign db migrate` connects as; DATABASE_URL is then the app role. */
  databaseOwnerUrl?: string;
  supabaseUrl?: string;
  supabaseServiceKey?: string;
  wahaBaseUrl?: string;
  wahaApiKey?: string;
  dashboardApiToken?: string;
  publicMediaBaseUrl?: string;
  publicDashboardBaseUrl?: string;
  webhookHmacKey?: string;
  /** Where uploaded media files live; defaults to `<campaignHome>/media`. */
  mediaDir: string;
  /** Per-user state: the embedded database, locks, media by default. */
  campaignHome: string;
  actor?: string;
  /** JSON renaming the CRM's tables and columns (see README, "CRM shape"). */
  crmSchema?: string;
  port?: number;
  /** The proxies whose X-Forwarded-For `serve` believes (addresses, CIDR ranges); unset: none. */
  trustProxy?: string[];
  /** Where each value came from, for `campaign config`. */
  sources: Record<string, 'env' | '.env' | 'default'>;
}

/** Each variable, whether it is a secret, and which commands need it. */
export const CONFIG_VARS: ReadonlyArray<{ name: keyof z.infer<typeof envSchema>; key: keyof Config; secret: boolean; neededBy: string }> = [
  { name: 'DATABASE_URL', key: 'databaseUrl', secret: true, neededBy: 'optional: unset uses the embedded database under CAMPAIGN_HOME' },
  { name: 'DATABASE_OWNER_URL', key: 'databaseOwnerUrl', secret: true, neededBy: 'optional: the owner role `db migrate` runs as (DATABASE_URL is then the app role)' },
  { name: 'SUPABASE_URL', key: 'supabaseUrl', secret: false, neededBy: 'audience brands|preview|import' },
  { name: 'SUPABASE_SERVICE_KEY', key: 'supabaseServiceKey', secret: true, neededBy: 'audience brands|preview|import' },
  { name: 'WAHA_BASE_URL', key: 'wahaBaseUrl', secret: false, neededBy: 'worker, preview, sessions, webhook setup|show, health' },
  { name: 'WAHA_API_KEY', key: 'wahaApiKey', secret: true, neededBy: 'worker, preview, sessions, webhook setup|show (when WAHA requires a key)' },
  { name: 'DASHBOARD_API_TOKEN', key: 'dashboardApiToken', secret: true, neededBy: 'serve' },
  { name: 'PUBLIC_MEDIA_BASE_URL', key: 'publicMediaBaseUrl', secret: false, neededBy: 'optional: unset sends media as base64 (file.data)' },
  { name: 'PUBLIC_DASHBOARD_BASE_URL', key: 'publicDashboardBaseUrl', secret: false, neededBy: 'webhook setup (the URL WAHA posts events to)' },
  { name: 'WEBHOOK_HMAC_KEY', key: 'webhookHmacKey', secret: true, neededBy: 'serve (webhook signatures), webhook setup' },
  { name: 'MEDIA_DIR', key: 'mediaDir', secret: false, neededBy: 'optional: defaults to CAMPAIGN_HOME/media' },
  { name: 'CAMPAIGN_HOME', key: 'campaignHome', secret: false, neededBy: 'optional: defaults to the user data folder' },
  { name: 'CAMPAIGN_ACTOR', key: 'actor', secret: false, neededBy: 'optional: audit actor, else the OS user' },
  { name: 'CRM_SCHEMA', key: 'crmSchema', secret: false, neededBy: 'optional: renames CRM tables and columns' },
  { name: 'PORT', key: 'port', secret: false, neededBy: 'optional: serve port, default 4100' },
  { name: 'TRUST_PROXY', key: 'trustProxy', secret: false, neededBy: 'optional: serve behind a reverse proxy (its addresses); unset trusts no proxy' },
];

export function defaultCampaignHome(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'campaign');
  const base = env.XDG_DATA_HOME && env.XDG_DATA_HOME.trim() !== '' ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(base, 'campaign');
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const fromFile = readDotEnv(join(cwd, '.env'));
  const merged: Record<string, string | undefined> = {};
  const sources: Config['sources'] = {};
  for (const v of CONFIG_VARS) {
    const own = env[v.name];
    if (own !== undefined && own.trim() !== '') {
      merged[v.name] = own;
      sources[v.name] = 'env';
    } else if (fromFile[v.name] !== undefined && fromFile[v.name]!.trim() !== '') {
      merged[v.name] = fromFile[v.name];
      sources[v.name] = '.env';
    }
  }
  const parsed = envSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    throw new CampaignError(
      'CONFIG_INVALID',
      `The environment is not valid:\n  - ${issues.map((i) => `${i.path} ${i.message}`).join('\n  - ')}\nFix the variable in the environment or in .env.`,
      { issues },
    );
  }
  const e = parsed.data;
  const campaignHome = resolve(cwd, e.CAMPAIGN_HOME ?? defaultCampaignHome(env));
  if (!e.CAMPAIGN_HOME) sources.CAMPAIGN_HOME = 'default';
  if (!e.MEDIA_DIR) sources.MEDIA_DIR = 'default';
  return {
    databaseUrl: e.DATABASE_URL,
    databaseOwnerUrl: e.DATABASE_OWNER_URL,
    supabaseUrl: e.SUPABASE_URL,
    supabaseServiceKey: e.SUPABASE_SERVICE_KEY,
    wahaBaseUrl: e.WAHA_BASE_URL?.replace(/\/+$/, ''),
    wahaApiKey: e.WAHA_API_KEY,
    dashboardApiToken: e.DASHBOARD_API_TOKEN,
    publicMediaBaseUrl: e.PUBLIC_MEDIA_BASE_URL?.replace(/\/+$/, ''),
    publicDashboardBaseUrl: e.PUBLIC_DASHBOARD_BASE_URL?.replace(/\/+$/, ''),
    webhookHmacKey: e.WEBHOOK_HMAC_KEY,
    mediaDir: resolve(cwd, e.MEDIA_DIR ?? join(campaignHome, 'media')),
    campaignHome,
    actor: e.CAMPAIGN_ACTOR,
    crmSchema: e.CRM_SCHEMA,
    port: e.PORT ? Number(e.PORT) : undefined,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    sources,
  };
}

function readDotEnv(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  try {
    return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
  } catch (e) {
    throw new CampaignError('CONFIG_INVALID', `Could not read ${path}: ${(e as Error).message}`, { path });
  }
}

/** Throws CONFIG_MISSING naming every variable the command needs that is unset. */
export function requireConfig<K extends keyof Config>(config: Config, keys: K[], command: string): { [P in K]-?: NonNullable<Config[P]> } {
  const missing = keys.filter((k) => config[k] === undefined || config[k] === '');
  if (missing.length > 0) {
    const names = missing.map((k) => CONFIG_VARS.find((v) => v.key === k)?.name ?? String(k));
    throw new CampaignError(
      'CONFIG_MISSING',
      `\`campaign ${command}\` needs ${names.join(' and ')}. Set ${names.length > 1 ? 'them' : 'it'} in the environment or in .env (\`campaign config\` shows what is set).`,
      { missing: names },
    );
  }
  return config as never;
}

/** Hides secrets: keeps the first two characters and the length; URLs keep everything but the password. */
export function maskValue(name: string, value: string | number | undefined, secret: boolean): string | null {
  if (value === undefined) return null;
  const s = String(value);
  if (name === 'DATABASE_URL' || name === 'DATABASE_OWNER_URL') {
    try {
      const u = new URL(s);
      if (u.password) u.password = '****';
      return u.toString();
    } catch {
      return '****';
    }
  }
  if (!secret) return s;
  return `${s.slice(0, 2)}${'*'.repeat(Math.max(4, Math.min(12, s.length - 2)))} (${s.length} chars)`;
}

export interface ConfigReport {
  variables: Array<{ name: string; value: string | null; source: string | null; set: boolean; secret: boolean; neededBy: string }>;
  missing: Array<{ name: string; neededBy: string }>;
}

export function describeConfig(config: Config): ConfigReport {
  const variables = CONFIG_VARS.map((v) => {
    const raw = config[v.key] as string | number | undefined;
    const source = config.sources[v.name] ?? null;
    return {
      name: v.name,
      value: maskValue(v.name, raw, v.secret),
      source,
      set: source === 'env' || source === '.env',
      secret: v.secret,
      neededBy: v.neededBy,
    };
  });
  const missing = variables.filter((v) => !v.set && !v.neededBy.startsWith('optional')).map((v) => ({ name: v.name, neededBy: v.neededBy }));
  return { variables, missing };
}
