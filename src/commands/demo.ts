// `campaign demo`: the whole flow in one command, with nothing configured. It uses a separate
// `campaign_demo` database on the campaign server (the embedded one unless DATABASE_URL is set),
// so real data and real settings are never touched, and a sandbox WAHA it starts itself, so
// nothing reaches WhatsApp; its webhooks go to the campaign server started in-process. The test
// run is sent by the real worker under a demo pacing profile (seconds instead of minutes), which
// is labelled as such everywhere it shows.
import type { Command } from 'commander';
import type { Context } from '../core/context.js';
import { CampaignError } from '../core/errors.js';
import { intArg, type CliKit, type Run } from './kit.js';
import { keyValue, table } from './render.js';

const DEMO_DB = 'campaign_demo';

/** Demo pacing: every rule still applies, at a pace you can watch. Never use it for real sends. */
export const DEMO_PROFILE = {
  daily_limit: 30,
  hourly_limit: 25,
  sending_window_start: '00:00',
  sending_window_end: '23:59',
  sending_days: [1, 2, 3, 4, 5, 6, 7],
  delay_min_seconds: 1,
  delay_max_seconds: 3,
  pause_after_sends: 25,
  pause_min_minutes: 10,
  pause_max_minutes: 20,
  poll_interval_seconds: 1,
  timezone: 'UTC',
};

const PEOPLE = ['Amani Kabila', 'Grace Mbuyi', 'Patrick Ilunga', 'Esther Kalala', 'Joel Mukendi', 'Ruth Tshilombo', 'Daniel Kasongo', 'Sarah Mwamba'];

function withoutPassword(url: string): string {
  const u = new URL(url);
  u.password = '';
  return u.toString();
}

/** The demo database, created by the owner role; the demo then runs as the app role like every command. */
async function freshDemoDatabase(run: Run): Promise<{ url: string; ownerUrl: string; appRole?: string; kind: 'url' | 'embedded' }> {
  const { resolveDatabaseUrl } = await import('../core/db/open-database.js');
  const [resolved, { default: pg }] = await Promise.all([resolveDatabaseUrl(run.config(), run.log), import('pg')]);
  const url = resolved.ownerUrl ?? resolved.url;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${DEMO_DB} with (force)`);
    await admin.query(`create database ${DEMO_DB}`);
  } catch (e) {
    throw new CampaignError('DATABASE_UNAVAILABLE', `The demo needs to create its own database ${DEMO_DB} on ${new URL(url).host}: ${(e as Error).message}. Unset DATABASE_URL to use the embedded database.`, {});
  } finally {
    await admin.end();
  }
  const inDemo = (base: string) => {
    const u = new URL(base);
    u.pathname = `/${DEMO_DB}`;
    return u.toString();
  };
  return { url: inDemo(resolved.url), ownerUrl: inDemo(url), appRole: resolved.appRole, kind: resolved.kind };
}

export function register(program: Command, k: CliKit): void {
  program
    .command('demo')
    .description('Try the whole flow on a demo database with a built-in WAHA sandbox (nothing reaches WhatsApp)')
    .option('--recipients <n>', 'test users in the demo list (1–8)', '5')
    .action(
      k.action(async (run) => {
        const recipients = intArg(run.opts.recipients, '--recipients', { min: 1, max: 8 })!;
        const say = (line: string) => run.note(line);
        say('campaign demo: a separate database, a sandbox WAHA, the real worker. Nothing is sent to WhatsApp.');
        const demoDb = await freshDemoDatabase(run);
        const url = demoDb.url;
        const [{ createDb }, { migrateAndGrant }, { systemClock }, { startSandbox }] = await Promise.all([
          import('../core/db/create-db.js'),
          import('../core/db/open-database.js'),
          import('../core/clock.js'),
          import('../sandbox/index.js'),
        ]);
        const owner = createDb(demoDb.ownerUrl, { max: 1, applicationName: 'campaign-demo migrate' });
        try {
          await migrateAndGrant(owner, demoDb.appRole);
        } finally {
          await owner.db.destroy();
        }
        const handle = createDb(url, { max: 4, applicationName: 'campaign-demo' });
        run.onClose(() => handle.db.destroy());
        const ctx: Context = { db: handle.db, clock: systemClock, log: run.log, actor: 'demo', config: run.config() };

        const { updateSettings } = await import('../core/settings/settings.service.js');
        await updateSettings(ctx, DEMO_PROFILE, 'settings.demo_profile');
        say('1. Pacing: DEMO PROFILE (1–3 s between sends, window always open). Real sessions start with `campaign settings preset cold`.');

        // The same server `campaign serve` runs, on a free port, so the sandbox's signed delivery
        // and read receipts move the demo's rows to DELIVERED and READ as WAHA's would.
        const { randomBytes } = await import('node:crypto');
        const { buildServer } = await import('../server/build-server.js');
        const serveConfig = { ...ctx.config, dashboardApiToken: randomBytes(16).toString('hex'), webhookHmacKey: randomBytes(16).toString('hex') };
        const server = await buildServer({ ctx: { ...ctx, config: serveConfig }, config: serveConfig, logger: false });
        const serverUrl = await server.listen({ port: 0, host: '127.0.0.1' });
        run.onClose(() => server.close());
        const sandbox = await startSandbox({
          port: 0, sessions: ['default'], engine: 'NOWEB', seed: 7,
          webhookUrl: `${serverUrl}/api/webhooks/waha`, hmacKey: serveConfig.webhookHmacKey, ackDelayMs: [300, 1200],
        });
        run.onClose(() => sandbox.close());
        say(`2. Sandbox WAHA on ${sandbox.url} (session "default", WORKING), posting signed webhooks to the campaign server on ${serverUrl}.`);

        const { addTestUser } = await import('../core/test-users/test-user.service.js');
        const { createTestList, addTestListMembers } = await import('../core/test-lists/test-list.service.js');
        const ids: string[] = [];
        for (let i = 0; i < recipients; i++) {
          const r = await addTestUser(ctx, { name: PEOPLE[i]!, phone: `+2438100000${String(i + 1).padStart(2, '0')}`, notes: 'demo' });
          ids.push(String(r.testUser.id));
        }
        await createTestList(ctx, { name: 'Demo testers', description: 'created by campaign demo' });
        await addTestListMembers(ctx, 'Demo testers', ids);
        say(`3. ${recipients} test users in the list "Demo testers".`);

        const { getSample } = await import('../core/templates/index.js');
        const { createCampaign } = await import('../core/campaigns/campaign.service.js');
        const { campaign } = await createCampaign(ctx, { name: 'Demo campaign', brand: 'demo', session: 'default', template: getSample('text_basic').template });
        say(`4. Campaign ${campaign.id} "${campaign.name}" drafted from the sample text_basic.`);

        const { startTestRun, showTestRun } = await import('../core/test-runs/index.js');
        const started = await startTestRun(ctx, String(campaign.id), 'Demo testers');
        const runId = started.testRun.id;
        say(`5. Test run ${runId} started; the worker sends it under the demo pacing:`);

        const [{ createWahaClient }, { createMediaResolver }, { runWorker }, { VERSION }] = await Promise.all([
          import('../core/waha/index.js'),
          import('../core/media/create-media-resolver.js'),
          import('../core/worker/run-worker.js'),
          import('../version.js'),
        ]);
        const stop = new AbortController();
        const watch = setInterval(() => {
          showTestRun(ctx, String(runId))
            .then((s) => {
              if (s.testRun.status !== 'RUNNING') stop.abort();
            })
            .catch(() => stop.abort());
        }, 250);
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        try {
          await runWorker(
            ctx,
            { waha: createWahaClient({ baseUrl: sandbox.url, timeoutMs: 10_000 }), resolveMedia: createMediaResolver(ctx) },
            { name: 'demo-worker', version: VERSION, stop: stop.signal, heartbeatMs: 1000, onProgress: (l) => say(`   ${l}`) },
          );
        } finally {
          clearInterval(watch);
          process.off('SIGINT', onSignal);
        }
        // Delivery and read receipts arrive a moment after the last send; wait for them briefly.
        const receiptsBy = Date.now() + 8000;
        let result = await showTestRun(ctx, String(runId));
        while (Date.now() < receiptsBy && result.recipients.some((r) => r.status === 'SENT_API_ACCEPTED' || r.status === 'DELIVERED')) {
          await new Promise((r) => setTimeout(r, 250));
          result = await showTestRun(ctx, String(runId));
        }
        const { summarizeCounts } = await import('../core/reports/report-summary.js');
        const hint = [
          'Where to look next:',
          '  campaign templates list                 the message types and samples',
          '  campaign sandbox --port 3000             a WAHA stand-in to try everything by hand (WAHA_BASE_URL=http://127.0.0.1:3000)',
          '  campaign test-users add / test-lists create / test start   your own test runs',
          '  campaign logs / campaign running         why the worker does what it does',
          demoDb.kind === 'embedded'
            ? `The demo data stays in the database ${DEMO_DB} of the embedded server (${withoutPassword(url)}; its password is in CAMPAIGN_HOME/embedded-auth.json)`
            : `The demo data stays in the database ${DEMO_DB}: DATABASE_URL=${withoutPassword(url)} campaign test report ${runId}`,
        ];
        return { database: DEMO_DB, sandbox: sandbox.url, campaignId: campaign.id, testRunId: runId, status: result.testRun.status, summary: summarizeCounts(result.counts), recipients: result.recipients.map((r) => ({ name: r.name, chatId: r.chatId, status: r.status, wahaMessageId: r.wahaMessageId, sentAt: r.sentAt, readAt: r.readAt })), next: hint };
      }, (r) =>
        [
          '',
          keyValue([
            ['test run', `${r.testRunId} ${r.status}`],
            ['summary', `${r.summary.total} recipients: ${r.summary.sent} sent, ${r.summary.delivered} delivered, ${r.summary.read} read, ${r.summary.failed} failed`],
          ]),
          table(['name', 'chat id', 'status', 'WAHA message id', 'sent at', 'read at'], r.recipients.map((x) => [x.name, x.chatId, x.status, x.wahaMessageId, x.sentAt?.slice(11, 19), x.readAt?.slice(11, 19)])),
          ...r.next,
        ].join('\n')),
    );
}
