// Reading and changing settings. A change is validated as a whole set (the rules compare keys),
// written in one transaction with its audit row (before and after), or not written at all.
import { type Kysely, sql, type Transaction } from 'kysely';
import { recordActivity } from '../audit/audit.repository.js';
import type { Context } from '../context.js';
import type { Database } from '../db/schema.js';
import { checkSettings, DEFAULT_SETTINGS, PRESETS, type PresetName, parseSettingValue, SETTING_HELP, SETTING_KEYS, type Settings } from './settings.schema.js';
import { closest } from '../did-you-mean.js';
import { CampaignError, validationError } from '../errors.js';

export interface SettingsView {
  settings: Settings;
  /** Keys whose stored value differs from the default. */
  changed: Array<keyof Settings>;
  /** The preset the current limits match, if any. */
  preset: PresetName | null;
  /** What each setting controls, for every surface that shows them (CLI table, dashboard). */
  help: Record<keyof Settings, string>;
}

export async function getSettings(db: Kysely<Database> | Transaction<Database>): Promise<Settings> {
  const rows = await db.selectFrom('settings').select(['key', 'value']).execute();
  const s: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const r of rows) if ((SETTING_KEYS as string[]).includes(r.key)) s[r.key] = r.value;
  return s as unknown as Settings;
}

export function matchingPreset(s: Settings): PresetName | null {
  for (const [name, p] of Object.entries(PRESETS) as Array<[PresetName, Partial<Settings>]>) {
    if (Object.entries(p).every(([k, v]) => (s as unknown as Record<string, unknown>)[k] === v)) return name;
  }
  return null;
}

export async function showSettings(ctx: Context): Promise<SettingsView> {
  const settings = await getSettings(ctx.db);
  const changed = SETTING_KEYS.filter((k) => JSON.stringify(settings[k]) !== JSON.stringify(DEFAULT_SETTINGS[k]));
  return { settings, changed, preset: matchingPreset(settings), help: SETTING_HELP };
}

export interface SettingsChange {
  key: keyof Settings;
  before: unknown;
  after: unknown;
}

export interface SettingsUpdateResult extends SettingsView {
  changes: SettingsChange[];
}

/** Parses `key=value` pairs from the CLI; unknown keys and malformed pairs are errors. */
export function parseAssignments(pairs: string[]): Record<string, unknown> {
  if (pairs.length === 0) {
    throw new CampaignError('USAGE', 'Give at least one key=value, for example `campaign settings set daily_limit=30 hourly_limit=12`.');
  }
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new CampaignError('USAGE', `"${pair}" is not key=value; for example daily_limit=30.`);
    const key = pair.slice(0, i).trim();
    if (!(SETTING_KEYS as string[]).includes(key)) {
      const near = closest(key, SETTING_KEYS);
      throw validationError('SETTINGS_INVALID', [{ path: key, message: `is not a setting${near ? `; did you mean ${near}?` : ''}` }], 'Settings not changed');
    }
    out[key] = parseSettingValue(key, pair.slice(i + 1));
  }
  return out;
}

export async function updateSettings(ctx: Context, patch: Record<string, unknown>, action = 'settings.update'): Promise<SettingsUpdateResult> {
  return ctx.db.transaction().execute(async (trx) => {
    // Serialise concurrent changes so two edits cannot each pass the rules and together break them.
    await sql`select pg_advisory_xact_lock(hashtext('campaign.settings'))`.execute(trx);
    const before = await getSettings(trx);
    const next = { ...before, ...patch } as Record<string, unknown>;
    const issues = checkSettings(next);
    if (issues.length > 0) throw validationError('SETTINGS_INVALID', issues, 'Settings not changed');
    const changes: SettingsChange[] = [];
    for (const key of Object.keys(patch) as Array<keyof Settings>) {
      if (JSON.stringify(before[key]) === JSON.stringify(next[key])) continue;
      changes.push({ key, before: before[key], after: next[key] });
      await trx
        .insertInto('settings')
        .values({ key, value: JSON.stringify(next[key]), updated_at: ctx.clock.now(), updated_by: ctx.actor })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(next[key]), updated_at: ctx.clock.now(), updated_by: ctx.actor }))
        .execute();
    }
    if (changes.length > 0) {
      await recordActivity(
        trx,
        {
          actor: ctx.actor,
          action,
          entityType: 'settings',
          summary: `Changed ${changes.map((c) => `${c.key} ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`).join(', ')}`,
          details: { before: Object.fromEntries(changes.map((c) => [c.key, c.before])), after: Object.fromEntries(changes.map((c) => [c.key, c.after])) },
        },
        ctx.config,
      );
    }
    const settings = next as unknown as Settings;
    const changed = SETTING_KEYS.filter((k) => JSON.stringify(settings[k]) !== JSON.stringify(DEFAULT_SETTINGS[k]));
    return { settings, changed, preset: matchingPreset(settings), help: SETTING_HELP, changes };
  });
}

export async function applyPreset(ctx: Context, name: string): Promise<SettingsUpdateResult> {
  if (!(name in PRESETS)) {
    const near = closest(name, Object.keys(PRESETS));
    throw new CampaignError('USAGE', `Unknown preset "${name}"${near ? ` (did you mean ${near}?)` : ''}; choose cold, warming or warm.`);
  }
  return updateSettings(ctx, { ...PRESETS[name as PresetName] }, `settings.preset.${name}`);
}
