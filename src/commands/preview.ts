// `campaign preview <campaign> --to <test-user> [--file draft.json]`: one real send to one test
// user, paced like any send of the session (only the sending window and days do not apply): it
// waits for a slot up to --wait seconds, else it is refused with when the next slot is.
import type { Command } from 'commander';
import { requireConfig } from '../core/config.js';
import type { PreviewResult } from '../core/preview/index.js';
import { type CliKit, intArg } from './kit.js';
import { readJsonFile } from './read-json-file.js';
import { keyValue } from './render.js';

function present(r: PreviewResult): string {
  return keyValue([
    ['sent', `${r.status}${r.usedFallback ? ' (WAHA answered 501: the fallback was sent)' : ''}`],
    ['campaign', `${r.campaign.id} "${r.campaign.name}" (${r.campaign.status})${r.source === 'file' ? ', draft from file' : ''}`],
    ['to', `#${r.testUser.id} ${r.testUser.name} (${r.testUser.chatId})`],
    ['session', `${r.session}: ${r.sendsToday} of ${r.dailyLimit} sends today`],
    ['endpoint', r.endpoint],
    ['message id', r.messageId || '(WAHA returned none)'],
    ['payload', JSON.stringify(r.payload)],
  ]);
}

export function register(program: Command, k: CliKit): void {
  program
    .command('preview')
    .description('Send a campaign once to one test user now (no queue, no test run; counts toward the session limits)')
    .argument('<campaign>', 'id or name')
    .requiredOption('--to <test-user>', 'required: test user: id, name or phone')
    .option('--file <path>', 'send this draft instead of the saved content: a campaign file or a template')
    .option('--wait <seconds>', 'longest wait for the session\'s next pacing slot before giving up', '180')
    .action(
      k.action(async (run, [ref]) => {
        const draft = run.opts.file !== undefined ? readJsonFile(run.opts.file) : undefined;
        const waitSeconds = intArg(run.opts.wait, '--wait', { min: 0, max: 3600 })!;
        const cfg = requireConfig(run.config(), ['wahaBaseUrl'], 'preview');
        const [{ createWahaClient }, { createMediaResolver }, { sendPreview }] = await Promise.all([
          import('../core/waha/index.js'),
          import('../core/media/create-media-resolver.js'),
          import('../core/preview/index.js'),
        ]);
        const ctx = await run.ctx();
        const waha = createWahaClient({ baseUrl: cfg.wahaBaseUrl, apiKey: run.config().wahaApiKey });
        const r = await sendPreview(
          ctx,
          { campaign: ref!, testUser: run.opts.to, template: draft },
          { waha, resolveMedia: createMediaResolver(ctx), maxWaitMs: waitSeconds * 1000, onWait: (message) => run.log.info(message) },
        );
        for (const w of r.warnings) run.log.warn(w);
        return r;
      }, present),
    );
}
