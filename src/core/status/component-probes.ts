// One probe per component a health check or the status screen looks at: each measures its own
// latency and never throws, so a component that is down becomes data ("down: why") instead of
// an error that would hide the others. Used by healthCheck and statusSnapshot alike.
import { sql } from 'kysely';
import type { CrmSource } from '../audience/crm-source.js';
import type { Config } from '../config.js';
import type { Db } from '../context.js';
import { toCampaignError } from '../errors.js';
import type { WahaSession } from '../waha/waha-client.js';

/** The part of the WAHA client the status code needs (a cached wrapper fits too). */
export interface WahaSessionSource {
  readonly baseUrl: string;
  listSessions(): Promise<WahaSession[]>;
}

export interface Probe<T = undefined> {
  ok: boolean;
  latencyMs: number;
  /** Why it is down, or a short note when up. */
  detail: string | null;
  value?: T;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 5000;

function message(e: unknown): string {
  return toCampaignError(e).message;
}

/** Runs `fn` under a deadline; a probe that hangs is as down as one that refuses. */
async function timed<T>(fn: (signal: AbortSignal) => Promise<T>, timeoutMs: number, what: string): Promise<Probe<T>> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`${what} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref?.();
  });
  try {
    const value = await Promise.race([fn(controller.signal), deadline]);
    return { ok: true, latencyMs: Math.round(performance.now() - started), detail: null, value };
  } catch (e) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), detail: message(e) };
  } finally {
    clearTimeout(timer);
  }
}

export function probeDatabase(db: Db, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Promise<Probe<undefined>> {
  return timed(async () => {
    await sql`select 1`.execute(db);
    return undefined;
  }, timeoutMs, 'the campaign database');
}

export function probeWaha(waha: WahaSessionSource, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Promise<Probe<WahaSession[]>> {
  return timed(() => waha.listSessions(), timeoutMs, `WAHA at ${waha.baseUrl}`);
}

/**
 * A cheap authenticated read of the CRM: the count of a brand nobody has. It goes through the
 * same client, key and CRM_SCHEMA mapping an import uses, so "up" means an import could start.
 */
export async function probeCrm(config: Config, options: { crm?: CrmSource; timeoutMs?: number } = {}): Promise<Probe<undefined>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  return timed(async (signal) => {
    const source = options.crm ?? (await (await import('../audience/supabase-crm-source.js')).openCrmSource(config, 'health'));
    await source.count({ brand: 'campaign-health-check' }, signal);
    return undefined;
  }, timeoutMs, 'the CRM (Supabase)');
}
