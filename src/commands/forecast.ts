// `campaign forecast <campaign>`: the finish time and sends per day at the current settings.
import type { Command } from 'commander';
import type { CliKit } from './kit.js';
import { keyValue, table, when } from './render.js';

export function register(program: Command, k: CliKit): void {
  program
    .command('forecast')
    .description('When a campaign will finish at the current settings, and sends per day')
    .argument('<campaign>', 'campaign id or name')
    .action(
      k.action(async (run, [ref]) => (await import('../core/campaigns/forecast-campaign.js')).forecastCampaign(await run.ctx(), ref!), (f) =>
        [
          keyValue([
            ['campaign', `${f.campaignId} ${f.name} (${f.status}) on session ${f.session}`],
            ['remaining', f.sharedRemaining > 0 ? `${f.remaining} (after ${f.sharedRemaining} rows of other running campaigns on this session)` : f.remaining],
            ['finish', f.finishAt ? when(f.finishAt) : 'not within a year at these settings'],
            ['limits', `${f.dailyLimit}/day, ${f.hourlyLimit}/hour, timezone ${f.timezone}`],
          ]),
          table(['day', 'sends'], f.perDay.map((d) => [d.date, d.sends]), { empty: '' }),
          f.note,
        ].filter(Boolean).join('\n'),
      ),
    );
}
