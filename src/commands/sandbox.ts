// `campaign sandbox`: a local WAHA stand-in (src/sandbox) for trying the tool without a WhatsApp
// number, for CI and for tests. Runs until SIGINT/SIGTERM, then exits 0.
import type { Command } from 'commander';
import { ENGINES, type Engine, type Faults, parseFaults, startSandbox } from '../sandbox/index.js';
import { intArg, type CliKit, type Run, usageError } from './kit.js';

interface SandboxStarted {
  url: string;
  engine: Engine;
  sessions: string[];
  env: Record<string, string>;
  webhookUrl: string | null;
  faults: Partial<Faults>;
}

function parseEngine(v: string | undefined): Engine {
  if (v === undefined) return 'WEBJS';
  const e = v.toUpperCase();
  if (!(ENGINES as readonly string[]).includes(e)) throw usageError(`--engine must be one of ${ENGINES.join(', ')}; got "${v}"`);
  return e as Engine;
}

function parseSessions(v: string | undefined): string[] {
  if (v === undefined) return ['default'];
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.find((n) => !/^[a-zA-Z0-9_-]{1,54}$/.test(n));
  if (names.length === 0 || bad !== undefined) {
    throw usageError(`--sessions must be a comma-separated list of session names (letters, digits, _ and -, as WAHA allows)${bad ? `; "${bad}" is not one` : ''}`);
  }
  return [...new Set(names)];
}

function parseUrl(v: string | undefined, flag: string): string | undefined {
  if (v === undefined) return undefined;
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return v;
  } catch {
    // reported below
  }
  throw usageError(`${flag} must be an http(s) URL such as http://127.0.0.1:4100/webhooks/waha; got "${v}"`);
}

function parseRange(v: string | undefined, flag: string): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(v.trim());
  if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) throw usageError(`${flag} must be milliseconds or a range min-max such as 200-1500; got "${v}"`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

function presentStarted(s: SandboxStarted): string {
  const lines = [
    `WAHA sandbox (${s.engine}) listening on ${s.url}: sessions ${s.sessions.join(', ')} are WORKING. Nothing is sent to WhatsApp.`,
    '',
    'Point campaign at it:',
    ...Object.entries(s.env).map(([k, v]) => `  export ${k}=${v}`),
    '',
    s.webhookUrl ? `Webhooks go to ${s.webhookUrl}.` : 'No --webhook-url: no webhooks are posted (acks will not arrive).',
    Object.keys(s.faults).length ? `Faults: ${JSON.stringify(s.faults)}` : 'No faults injected (POST /_sandbox/faults sets them at run time).',
    `Control: GET ${s.url}/_sandbox/messages, /_sandbox/requests, /_sandbox/webhooks; POST /_sandbox/inbound {"from","text"}, /_sandbox/sessions/<name>/status {"status"}, /_sandbox/faults, /_sandbox/reset.`,
    'Press Ctrl-C to stop.',
  ];
  return lines.join('\n');
}

async function runSandbox(run: Run): Promise<{ stopped: true; url: string; sends: number }> {
  const o = run.opts;
  const engine = parseEngine(o.engine);
  const sessions = parseSessions(o.sessions);
  const port = intArg(o.port, '--port', { min: 0, max: 65535 }) ?? 3000;
  const webhookUrl = parseUrl(o.webhookUrl, '--webhook-url');
  const ackDelayMs = parseRange(o.ackDelayMs, '--ack-delay-ms');
  const seed = intArg(o.seed, '--seed', { min: 0 });
  const faults = o.faults === undefined ? {} : parseFaults(String(o.faults));
  if (o.hmacKey !== undefined && !webhookUrl) throw usageError('--hmac-key signs webhooks, so it needs --webhook-url');

  const sandbox = await startSandbox({
    port, host: o.host, engine, sessions, apiKey: o.apiKey, webhookUrl, hmacKey: o.hmacKey, faults, ackDelayMs, seed,
    onRequest: (r) => run.log.debug(`${r.status} ${r.method} ${r.path}`),
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw usageError(`--port ${port} is already in use; pick another port or --port 0 for a free one`);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') throw usageError(`--host ${o.host} is not an address of this machine`);
    throw e;
  });
  const started: SandboxStarted = {
    url: sandbox.url,
    engine,
    sessions,
    env: { WAHA_BASE_URL: sandbox.url, ...(o.apiKey ? { WAHA_API_KEY: String(o.apiKey) } : {}) },
    webhookUrl: webhookUrl ?? null,
    faults,
  };
  if (run.json) run.emit({ event: 'started', ...started });
  else {
    process.stdout.write(`${presentStarted(started)}\n`);
    run.printed = true;
  }

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const sends = sandbox.messages.filter((m) => m.fromMe).length;
  await sandbox.close();
  if (run.json) run.emit({ event: 'stopped', url: sandbox.url, sends });
  else run.note(`Sandbox stopped after ${sends} send(s).`);
  return { stopped: true, url: sandbox.url, sends };
}

export function register(program: Command, k: CliKit): void {
  program
    .command('sandbox')
    .description('A local WAHA stand-in for trying the tool and for tests (sends nothing to WhatsApp)')
    .option('--port <n>', 'port to listen on (0 = any free port)', '3000')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--engine <name>', `response shapes of this WAHA engine: ${ENGINES.join(' | ')}`, 'WEBJS')
    .option('--sessions <a,b>', 'session names, all WORKING at start', 'default')
    .option('--api-key <key>', 'require this X-Api-Key, as WAHA_API_KEY does (401 otherwise)')
    .option('--webhook-url <url>', 'where to POST WAHA webhooks (message.any, message.ack, message, session.status)')
    .option('--hmac-key <key>', 'sign webhooks with X-Webhook-Hmac (HMAC-SHA512), as WAHA does')
    .option('--faults <json|k=v,...>', 'inject faults, e.g. timeoutRate=0.1,errorRate5xx=0.05,notImplementedButtons=true')
    .option('--ack-delay-ms <min-max>', 'delay before each ack after the first', '200-1500')
    .option('--seed <n>', 'seed for fault draws, ids and jitter (repeatable runs)')
    .addHelpText(
      'after',
      '\nFaults: latencyMs (ms or min-max), timeoutRate, timeoutHoldMs, errorRate5xx, notImplementedButtons, lostAckRate,\n' +
        'duplicateWebhookRate, acksBeforeResponse, dropSessionAfter (N sends, then SCAN_QR_CODE). Rates are 0..1.',
    )
    .action(k.action(async (run) => runSandbox(run)));
}
