// `campaign serve [--port 4100] [--host 127.0.0.1] [--allow-unsigned-webhooks]`: the JSON API,
// the WAHA webhook, the live event stream and the dashboard. First SIGINT/SIGTERM: stop taking
// requests, finish the ones in flight, close live streams, exit 0.
// `campaign webhook show|setup [--session]`: what WAHA must be told so events reach the server.
import type { Command } from 'commander';
import { type Config, requireConfig } from '../core/config.js';
import { CampaignError } from '../core/errors.js';
import { intArg, type CliKit, type Run } from './kit.js';
import { keyValue, paint } from './render.js';

interface ServeStarted {
  url: string;
  webhookUrl: string;
  webhookAuth: string;
  dashboard: boolean;
  /** The proxies whose X-Forwarded-For gives the client address (TRUST_PROXY); null: none. */
  trustProxy: string[] | null;
}

/** The URL WAHA should post to: PUBLIC_DASHBOARD_BASE_URL when set, else this listener. */
function publicBase(config: Config, host: string, port: number): string {
  if (config.publicDashboardBaseUrl) return config.publicDashboardBaseUrl;
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

function describeAuth(mode: string): string {
  switch (mode) {
    case 'hmac':
      return 'HMAC-verified (X-Webhook-Hmac, SHA-512 with WEBHOOK_HMAC_KEY)';
    case 'token':
      return 'URL token (?token=…); set WEBHOOK_HMAC_KEY to verify signatures instead';
    case 'unsigned':
      return paint('yellow', 'NOT verified (--allow-unsigned-webhooks): anyone who can reach this port can post events', process.stderr);
    default:
      return 'refused';
  }
}

async function serve(run: Run): Promise<ServeStarted & { stopped: string }> {
  const cfg = run.config();
  requireConfig(cfg, ['dashboardApiToken'], 'serve');
  const port = intArg(run.opts.port, '--port', { min: 0, max: 65535 }) ?? cfg.port ?? 4100;
  const host = String(run.opts.host ?? '127.0.0.1');
  const allowUnsigned = Boolean(run.opts.allowUnsignedWebhooks);
  const ctx = await run.ctx({ poolSize: 10 });
  const [{ buildServer }, webhooks] = await Promise.all([import('../server/build-server.js'), import('../core/webhooks/index.js')]);
  const app = await buildServer({ ctx, config: cfg, logger: process.env.CAMPAIGN_LOG === 'silent' ? false : { level: process.env.CAMPAIGN_LOG ?? 'info' }, allowUnsignedWebhooks: allowUnsigned });
  try {
    await app.listen({ port, host });
  } catch (e) {
    await app.close().catch(() => {});
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CampaignError('USAGE', `Port ${port} on ${host} is in use: stop what uses it or pick another with --port (or PORT).`, { port });
    // Not a database error, though the codes look alike (ENOTFOUND): the --host is not one of ours.
    if (code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL' || code === 'EAI_AGAIN') {
      throw new CampaignError('USAGE', `--host ${host} is not an address of this machine (${code}): use 127.0.0.1, 0.0.0.0 for every interface, or one of this machine's addresses.`, { host, code });
    }
    if (code === 'EACCES') throw new CampaignError('USAGE', `Port ${port} on ${host} needs privileges this process does not have: pick a port above 1023 with --port (or PORT).`, { port, code });
    throw e;
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  const mode = webhooks.webhookAuthMode(cfg, allowUnsigned);
  const started: ServeStarted = {
    url,
    webhookUrl: webhooks.webhookUrl(publicBase(cfg, host, actualPort), cfg, allowUnsigned),
    webhookAuth: mode,
    dashboard: true,
    trustProxy: cfg.trustProxy ?? null,
  };
  // The start line is for people (stderr) and, under --json, one NDJSON line scripts can read.
  if (run.json) run.emit({ started });
  else {
    run.note(`campaign serve: listening on ${url} (dashboard at ${url}/, API at ${url}/api)`);
    run.note(`WAHA webhook URL: ${started.webhookUrl}`);
    run.note(`  events: ${webhooks.WEBHOOK_EVENTS.join(', ')}; webhooks are ${describeAuth(mode)}`);
    run.note(`  configure a session with \`campaign webhook setup --session <name>\`${cfg.publicDashboardBaseUrl ? '' : ' (set PUBLIC_DASHBOARD_BASE_URL to the address WAHA can reach)'}`);
    run.note(
      cfg.trustProxy
        ? `client addresses: from X-Forwarded-For when the request comes from ${cfg.trustProxy.join(', ')} (TRUST_PROXY)`
        : 'client addresses: the connection\'s own (no TRUST_PROXY: X-Forwarded-For is ignored)',
    );
    run.note('Ctrl-C to stop.');
  }

  const stopped = await new Promise<string>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        run.note(`${sig} again: stopping now`);
        process.exit(sig === 'SIGINT' ? 130 : 143);
      }
      run.note(`${sig}: finishing requests in flight, then stopping (${sig} again to stop at once)`);
      app.close().then(
        () => resolve(sig),
        () => resolve(sig),
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    run.onClose(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
  });
  return { ...started, stopped };
}

async function webhookContext(run: Run) {
  const cfg = run.config() as Config & { wahaBaseUrl: string; publicDashboardBaseUrl: string };
  requireConfig(cfg, ['wahaBaseUrl', 'publicDashboardBaseUrl'], 'webhook');
  const webhooks = await import('../core/webhooks/index.js');
  if (webhooks.webhookAuthMode(cfg) === 'refused') {
    throw new CampaignError('CONFIG_MISSING', 'Set WEBHOOK_HMAC_KEY (signed webhooks, recommended) or DASHBOARD_API_TOKEN (a URL token) so the server can tell WAHA from anyone else.', {});
  }
  const port = webhooks.createWahaSessionConfigClient({ baseUrl: cfg.wahaBaseUrl, apiKey: cfg.wahaApiKey });
  return { cfg, webhooks, port };
}

function presentWebhook(r: import('../core/webhooks/index.js').WebhookComparison & { action?: string; offline?: boolean }): string {
  const d = r.desired;
  const lines = [
    keyValue([
      ['session', `${r.session}${r.status ? ` (${r.status})` : ''}`],
      ['URL for WAHA', d.url],
      ['events', d.events.join(', ')],
      ['hmac', d.hmac ? 'yes (WEBHOOK_HMAC_KEY)' : 'no: the URL token authenticates'],
      ['retries', d.retries ? `${d.retries.policy}, ${d.retries.delaySeconds} s, ${d.retries.attempts} attempts` : '-'],
      ['session config', Object.keys(r.engineConfig).length ? `${Object.entries(r.engineConfig).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')}${r.engine ? ` (${r.engine})` : ' (WEBJS)'}` : `nothing more${r.engine ? ` (${r.engine})` : ''}`],
      ['WAHA has', r.offline ? '(not asked: --offline)' : r.configured.length ? r.configured.map((w) => `${w.url} [${w.events.join(', ')}]${w.hmac ? ' hmac' : ''}`).join('\n') : 'no webhook'],
    ]),
  ];
  if (r.action) lines.unshift(r.action);
  if (!r.offline) lines.push(r.problems.length ? r.problems.map((p) => `${paint('yellow', 'problem:')} ${p}`).join('\n') : paint('green', 'WAHA posts every event this server needs.'));
  return lines.join('\n');
}

export function register(program: Command, k: CliKit): void {
  program
    .command('serve')
    .description('The JSON API, the WAHA webhook, the live event stream and the dashboard (needs DASHBOARD_API_TOKEN)')
    .option('--port <port>', 'port to listen on (default PORT, else 4100)')
    .option('--host <host>', 'address to listen on (0.0.0.0 for every interface, as in Docker)', '127.0.0.1')
    .option('--allow-unsigned-webhooks', 'accept webhooks with neither an HMAC signature nor the URL token (local trials only)')
    .action(
      k.action(
        async (run) => serve(run),
        (r) => `campaign serve stopped (${r.stopped})`,
      ),
    );

  const webhook = program.command('webhook').description('WAHA webhook set-up: show the URL and events, or configure a session');
  webhook
    .command('show')
    .description('What this server needs from WAHA, next to what the session has (asks WAHA)')
    .option('--session <name>', 'WAHA session', 'default')
    .option('--offline', 'print what WAHA needs without asking WAHA')
    .action(
      k.action(async (run) => {
        if (run.opts.offline) {
          const cfg = run.config();
          requireConfig(cfg, ['publicDashboardBaseUrl'], 'webhook show');
          const webhooks = await import('../core/webhooks/index.js');
          const desired = webhooks.maskWebhookConfig(webhooks.desiredWebhookConfig(cfg.publicDashboardBaseUrl!, cfg));
          return { session: String(run.opts.session), status: null, engine: null, configured: [], desired, engineConfig: webhooks.engineConfigNeeded(null), problems: [], offline: true };
        }
        const { cfg, webhooks, port } = await webhookContext(run);
        return webhooks.showWebhook(port, String(run.opts.session), cfg.publicDashboardBaseUrl, cfg);
      }, presentWebhook),
    );
  webhook
    .command('setup')
    .description("Write this server's webhook into the WAHA session (PUT /api/sessions/{session}); other webhooks stay")
    .option('--session <name>', 'WAHA session', 'default')
    .action(
      k.action(async (run) => {
        const { cfg, webhooks, port } = await webhookContext(run);
        const r = await webhooks.setupWebhook(port, String(run.opts.session), cfg.publicDashboardBaseUrl, cfg);
        return { action: `configured the webhook of session "${r.session}"`, ...r };
      }, presentWebhook),
    );
}
