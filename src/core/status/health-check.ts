// `campaign health` and /api/health: each component checked with its latency, and whether the
// current configuration needs it. The database is always needed; WAHA when WAHA_BASE_URL is set;
// the CRM when SUPABASE_URL is set; a WAHA session when a RUNNING campaign or test run sends
// through it. Works with no database at all (ctx undefined): it is then reported down, not thrown.
import { sql } from 'kysely';
import type { CrmSource } from '../audience/crm-source.js';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import { toCampaignError } from '../errors.js';
import { probeCrm, probeDatabase, probeWaha, type WahaSessionSource } from './component-probes.js';
import { component, DEFAULT_STALE_AFTER_MS, fromProbe, lastWebhookAt, loadWorkers, webhookComponent, workersComponent } from './status-snapshot.js';
import type { ComponentStatus, HealthReport } from './status-types.js';

export interface HealthOptions {
  waha?: WahaSessionSource;
  crm?: CrmSource;
  /** Why the database could not be opened, when ctx is undefined. */
  databaseError?: unknown;
  timeoutMs?: number;
  now?: Date;
  staleAfterMs?: number;
}

export async function healthCheck(ctx: Context | undefined, config: Config, options: HealthOptions = {}): Promise<HealthReport> {
  const now = options.now ?? ctx?.clock.now() ?? new Date();
  const [db, waha, crm] = await Promise.all([
    ctx ? probeDatabase(ctx.db, options.timeoutMs) : Promise.resolve(undefined),
    options.waha ? probeWaha(options.waha, options.timeoutMs) : Promise.resolve(undefined),
    config.supabaseUrl ? probeCrm(config, { crm: options.crm, timeoutMs: options.timeoutMs }) : Promise.resolve(undefined),
  ]);
  const components: ComponentStatus[] = [];
  components.push(
    db
      ? fromProbe('database', 'database', db, true)
      : component({
          name: 'database',
          kind: 'database',
          state: 'down',
          latencyMs: null,
          detail: options.databaseError ? toCampaignError(options.databaseError).message : 'not connected',
          required: true,
        }),
  );
  if (config.supabaseUrl) components.push(fromProbe('crm', 'crm', crm!, true, config.supabaseUrl));
  else components.push(component({ name: 'crm', kind: 'crm', state: 'not_configured', ok: false, latencyMs: null, detail: 'SUPABASE_URL is not set', required: false }));
  if (waha && options.waha) components.push(fromProbe('waha', 'waha', waha, true, `${options.waha.baseUrl}: ${waha.value?.length ?? 0} session(s)`));
  else if (config.wahaBaseUrl) components.push(component({ name: 'waha', kind: 'waha', state: 'down', latencyMs: null, detail: 'WAHA_BASE_URL is set but no client was given to check it', required: true }));
  else components.push(component({ name: 'waha', kind: 'waha', state: 'not_configured', ok: false, latencyMs: null, detail: 'WAHA_BASE_URL is not set', required: false }));

  // What needs the database: which sessions running work uses, workers, the last webhook.
  if (ctx && db?.ok) {
    try {
      const inUse = await sql<{ session: string }>`
        select waha_session as session from campaigns where status = 'RUNNING'
        union select waha_session from campaign_test_runs where status = 'RUNNING'`.execute(ctx.db);
      const used = new Set(inUse.rows.map((r) => r.session));
      if (waha?.ok) {
        const listed = waha.value ?? [];
        const names = [...new Set([...listed.map((s) => s.name), ...used])].sort();
        for (const name of names) {
          const s = listed.find((x) => x.name === name);
          components.push(
            component({
              name: `session ${name}`,
              kind: 'session',
              state: s?.status === 'WORKING' ? 'up' : 'down',
              latencyMs: null,
              detail: s ? `${s.status}${s.me?.id ? ` as ${s.me.id}` : ''}` : 'not listed by WAHA',
              required: used.has(name),
            }),
          );
        }
      }
      const workers = await loadWorkers(ctx, now, options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS);
      components.push(workersComponent(workers, used.size > 0));
      components.push(webhookComponent(await lastWebhookAt(ctx)));
    } catch (e) {
      // Reachable but unreadable (an old schema, say): the database is not usable.
      components[0] = component({ ...components[0]!, state: 'down', ok: false, detail: toCampaignError(e).message });
    }
  }
  return { ok: components.every((c) => !c.required || c.ok), at: now.toISOString(), components };
}
