// `campaign config`: the resolved environment, secrets masked, and what each missing one blocks.
import type { Command } from 'commander';
import { type ConfigReport, describeConfig } from '../core/config.js';
import type { CliKit } from './kit.js';
import { paint, table } from './render.js';

function present(r: ConfigReport & { campaignHome: string; mediaDir: string }): string {
  const rows = r.variables.map((v) => [v.name, v.value ?? paint('dim', '(unset)'), v.source ?? '', v.neededBy]);
  const lines = [table(['variable', 'value', 'from', 'needed by'], rows)];
  if (r.missing.length > 0) {
    lines.push('', 'Missing (the commands listed will refuse until it is set):');
    for (const m of r.missing) lines.push(`  ${m.name}: ${m.neededBy}`);
  }
  return lines.join('\n');
}

export function register(program: Command, k: CliKit): void {
  program
    .command('config')
    .description('Show the resolved configuration (secrets masked) and what is missing')
    .action(
      k.action(async (run) => {
        const config = run.config();
        return { ...describeConfig(config), campaignHome: config.campaignHome, mediaDir: config.mediaDir };
      }, present),
    );
}
