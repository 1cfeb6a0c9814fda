// The TUI in a real terminal: tmux runs `campaign tui` (the built CLI) at 120x40 against a real
// PostgreSQL, a WAHA sandbox and a spawned `campaign worker`. The screen must show progress
// advancing; `p` then `y` pauses the selected campaign in the database (promise 5: the pause is
// the committed state the worker's claim re-reads) and the screen says PAUSED; `q` exits 0.
// The TUI reaches the database through a TCP proxy that the test cuts and restores: the screen
// says DISCONNECTED, keeps retrying, and comes back by itself.
// Without a TTY, `campaign tui` refuses with exit 2 and points at `campaign status --json`.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { Context } from '../../src/core/context.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { until } from '../helpers/processes.js';
import { BIN, cleanEnv, ROOT, runCli, tempDir } from '../helpers/run-cli.js';
import { alwaysOpenSettings, seedContacts, startedCampaign } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const QUEUED = 30;
const NAME = 'TUI e2e spring promo';
const hasTmux = (() => {
  try {
    execFileSync('which', ['tmux'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let t: TestDatabase;
let ctx: Context;
let s: Sandbox;
let dir: string;
let campaignId: number;
let worker: ChildProcess | undefined;
let proxy: DbProxy | undefined;
let workerLog = '';
const socket = `campaign-tui-${randomBytes(4).toString('hex')}`;
const session = 'tui';

interface DbProxy {
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
}

/** A TCP proxy to the test database on a fixed local port, which can be cut (every connection reset, nothing listening) and restored. */
async function startProxy(targetUrl: string): Promise<DbProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server!.address() as AddressInfo).port;
  };
  await listen();
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    async down() {
      const s = server;
      server = undefined;
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
    },
    up: listen,
  };
}

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

function screen(): string {
  try {
    return tmux('capture-pane', '-p', '-t', session);
  } catch {
    return '';
  }
}

/** The campaign's progress as the screen shows it: the `done/total` of its row. */
function shownProgress(text: string): number | undefined {
  const line = text.split('\n').find((l) => l.includes(NAME.slice(0, 12)) && /\d+\/\d+/.test(l));
  const m = line ? / (\d+)\/(\d+) /.exec(line) : null;
  return m && Number(m[2]) === QUEUED ? Number(m[1]) : undefined;
}

async function campaignStatus(): Promise<string> {
  const r = await t.db.selectFrom('campaigns').select('status').where('id', '=', campaignId).executeTakeFirstOrThrow();
  return r.status;
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'src', 'tui', 'run-tui.js'))) throw new Error('dist/ has no TUI: run `npm run build` before the e2e tests');
  t = await createTestDatabase();
  ctx = t.ctx({ clock: systemClock });
  // Each send takes 400–600 ms at the sandbox, so 30 sends take ~15 s: long enough to watch.
  s = await startSandbox({ port: 0, seed: 7, faults: { latencyMs: [400, 600] } });
  dir = tempDir('campaign-tui-');
  await updateSettings(ctx, alwaysOpenSettings());
  await seedContacts(t.db, { count: QUEUED, first: 50_000_000, crmPrefix: 'tui', label: 'Viewer', city: 'Goma', storeId: 'GOM-1', brand: 'lifebuoy' });
  const c = await startedCampaign(ctx, { name: NAME, brand: 'lifebuoy' });
  campaignId = c.id;
  expect(c.queued).toBe(QUEUED);
});

afterAll(async () => {
  worker?.kill('SIGKILL');
  await proxy?.down();
  if (hasTmux) {
    try {
      tmux('kill-server');
    } catch {
      // no server left: fine
    }
  }
  await s?.close();
  await t?.drop();
});

describe('campaign tui', () => {
  it('without a TTY: exit 2 and a hint to use `campaign status --json`', async () => {
    const env = cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir });
    const r = await runCli(['tui'], { env, cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('campaign status --json');
    const j = await runCli(['status', '--watch', '--json'], { env, cwd: dir });
    expect(j.code).toBe(2);
    expect(j.json.error.code).toBe('NO_TTY');
  });

  it('`campaign status --json` prints the snapshot; `campaign health` exits 9 when WAHA or the database is down', async () => {
    const env = cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir, WAHA_BASE_URL: s.url });
    const st = await runCli(['status', '--json'], { env, cwd: dir });
    expect(st.code, st.stderr).toBe(0);
    expect(st.json.running).toEqual([expect.objectContaining({ id: campaignId, name: NAME, status: 'RUNNING', total: QUEUED })]);
    expect(st.json.sessions).toEqual([expect.objectContaining({ name: 'default', wahaStatus: 'WORKING', window: expect.objectContaining({ open: true }) })]);
    // A RUNNING campaign and no worker yet: the screen says nothing is sending it.
    expect(st.json.attention).toEqual([expect.objectContaining({ kind: 'no_live_worker', command: 'campaign worker' })]);
    const table = await runCli(['status'], { env, cwd: dir });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Attention (1)');
    expect(table.stdout).toContain(NAME);

    const healthy = await runCli(['health', '--json'], { env, cwd: dir });
    expect(healthy.code, healthy.stdout).toBe(0);
    expect(healthy.json.ok).toBe(true);

    const wahaDown = await runCli(['health', '--json'], { env: { ...env, WAHA_BASE_URL: 'http://127.0.0.1:9' }, cwd: dir });
    expect(wahaDown.code).toBe(9);
    expect(wahaDown.json.components.find((c: any) => c.name === 'waha')).toMatchObject({ ok: false, required: true, state: 'down' });

    const dbDown = await runCli(['health'], { env: { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:9/nothing' }, cwd: dir });
    expect(dbDown.code).toBe(9);
    expect(dbDown.stdout).toMatch(/database\s*│\s*DOWN/);
    expect(dbDown.stdout).toContain('UNHEALTHY: database down');
  });

  it.skipIf(!hasTmux)('in tmux: progress advances; p + y pauses the campaign in the database and on screen; survives the database going away; q exits 0', async () => {
    const workerEnv = cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir, WAHA_BASE_URL: s.url, CAMPAIGN_ACTOR: 'tui-e2e' });
    worker = spawn(process.execPath, [BIN, 'worker', '--name', 'tui-e2e-worker', '--heartbeat-ms', '1000'], { cwd: dir, env: workerEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    proxy = await startProxy(t.url);
    const env = { ...workerEnv, DATABASE_URL: proxy.url };
    worker.stdout!.on('data', (d) => (workerLog += d));
    worker.stderr!.on('data', (d) => (workerLog += d));

    const exitFile = join(dir, 'tui-exit');
    const script = join(dir, 'run-tui.sh');
    // CI=true as on the CI machine: the TUI must still draw (Ink alone would stay silent).
    const exports = Object.entries({ ...env, TERM: 'xterm-256color', CI: 'true' })
      .map(([k, v]) => `export ${k}=${JSON.stringify(v)}`)
      .join('\n');
    writeFileSync(script, `${exports}\ncd ${JSON.stringify(dir)}\n${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} tui\necho $? > ${JSON.stringify(exitFile)}\n`);
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', `sh ${script}`);
    tmux('set-option', '-t', session, 'remain-on-exit', 'on');

    const describeScreen = () => `\n--- screen ---\n${screen()}\n--- worker ---\n${workerLog.slice(-2000)}`;
    const first = await until(() => shownProgress(screen()), 20_000, () => `the campaign row with its progress${describeScreen()}`);
    expect(screen()).toContain('RUNNING');
    const later = await until(() => {
      const p = shownProgress(screen());
      return p !== undefined && p > first ? p : undefined;
    }, 20_000, () => `progress to advance past ${first}${describeScreen()}`);
    expect(later).toBeGreaterThan(first);
    expect(later).toBeLessThan(QUEUED);
    await until(() => /workers 1 live/.test(screen()), 10_000, () => `the live worker in the overview${describeScreen()}`);

    tmux('send-keys', '-t', session, 'p');
    await until(() => screen().includes(`Pause campaign ${campaignId}`), 5000, () => `the confirmation${describeScreen()}`);
    expect(await campaignStatus()).toBe('RUNNING');
    tmux('send-keys', '-t', session, 'y');
    await until(async () => (await campaignStatus()) === 'PAUSED', 5000, () => `campaigns.status = PAUSED${describeScreen()}`);
    await until(() => /is now PAUSED/.test(screen()) && screen().split('\n').some((l) => l.includes(NAME.slice(0, 12)) && l.includes('PAUSED')), 5000, () => `PAUSED on screen${describeScreen()}`);
    const audit = await t.db.selectFrom('admin_activity').select(['action', 'actor']).where('action', '=', 'campaign.pause').execute();
    expect(audit).toEqual([{ action: 'campaign.pause', actor: 'tui-e2e' }]);

    // The database goes away: the screen says so and keeps the last data; it comes back: live again.
    await proxy.down();
    await until(() => screen().includes('DISCONNECTED'), 10_000, () => `DISCONNECTED on screen${describeScreen()}`);
    expect(screen()).toContain(NAME);
    await proxy.up();
    await until(() => !screen().includes('DISCONNECTED') && screen().includes('CONNECTED'), 15_000, () => `CONNECTED again${describeScreen()}`);

    tmux('send-keys', '-t', session, 'q');
    const code = await until(() => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() : undefined), 10_000, () => `the TUI to exit${describeScreen()}`);
    expect(code).toBe('0');
  });
});
