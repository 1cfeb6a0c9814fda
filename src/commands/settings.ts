// `campaign settings show | set key=value... | preset cold|warming|warm`
import type { Command } from 'commander';
import { SETTING_HELP, SETTING_KEYS } from '../core/settings/settings.schema.js';
import { applyPreset, parseAssignments, type SettingsUpdateResult, type SettingsView, showSettings, updateSettings } from '../core/settings/settings.service.js';
import type { CliKit } from './kit.js';
import { paint, table } from './render.js';

function presentView(v: SettingsView): string {
  const rows = SETTING_KEYS.map((k) => [k, Array.isArray(v.settings[k]) ? (v.settings[k] as unknown[]).join(',') : v.settings[k], v.changed.includes(k) ? '' : paint('dim', 'default'), SETTING_HELP[k]]);
  return `${table(['setting', 'value', '', 'what it controls'], rows)}\nPreset: ${v.preset ?? 'custom'}. No setting can guarantee a session is not banned; start cold.`;
}

function presentUpdate(r: SettingsUpdateResult): string {
  if (r.changes.length === 0) return 'Nothing changed: the settings already had those values.';
  return r.changes.map((c) => `${c.key}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`).join('\n');
}

export function register(program: Command, k: CliKit): void {
  const settings = program.command('settings').description('Pacing settings: show, set key=value, preset cold|warming|warm');
  settings
    .command('show')
    .description('Show every setting, its value and what it controls')
    .action(k.action(async (run) => showSettings(await run.ctx()), presentView));
  settings
    .command('set')
    .description('Change settings, e.g. `settings set daily_limit=60 hourly_limit=18`; all or nothing')
    .argument('<key=value...>', 'assignments')
    .action(k.action(async (run, args) => updateSettings(await run.ctx(), parseAssignments(args)), presentUpdate));
  settings
    .command('preset')
    .description('Apply a session-stage preset: cold (new), warming, warm (tested sessions only)')
    .argument('<name>', 'cold | warming | warm')
    .action(k.action(async (run, [name]) => applyPreset(await run.ctx(), name!), presentUpdate));
}
