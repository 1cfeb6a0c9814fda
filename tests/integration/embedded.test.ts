// The embedded database manager against real PostgreSQL binaries and real OS processes: one
// detached server per CAMPAIGN_HOME, started on demand by whichever process comes first, shared
// by all, and surviving `kill -9` of any campaign process or of the postmaster itself.
// Each group uses its own fresh CAMPAIGN_HOME, so these tests never touch the shared test server.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect, createServer } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagedBinaries, reachableBinaries } from '../../src/core/db/embedded-binaries.js';
import { runAsFor, runProcess } from '../../src/core/db/embedded-process.js';
import { CampaignError } from '../../src/core/errors.js';
import { ROOT_CLUSTER_BASE, embeddedStatus, ensureEmbedded, stopEmbedded } from '../../src/core/db/embedded.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MODULE_URL = pathToFileURL(join(ROOT, 'src/core/db/embedded.ts')).href;
const isRoot = process.getuid?.() === 0;

function freshHome(): string {
  return mkdtempSync(join(tmpdir(), 'campaign-embedded-test-'));
}

/** Stops the server of `home` and deletes its data (under /var/lib/campaign-embedded as root). */
async function destroy(home: string): Promise<void> {
  const info = await stopEmbedded(home).then((r) => r.info, () => embeddedStatus(home));
  if (info.dataDir.startsWith(`${ROOT_CLUSTER_BASE}/`)) rmSync(dirname(info.dataDir), { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}

async function query<T extends Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

interface ChildReport {
  url: string;
  started: boolean;
  initialized: boolean;
  pid: number;
  db: string;
  dataDir: string;
  runAsUser: string | null;
}

/**
 * A separate `campaign`-like process: calls ensureEmbedded on `home`, queries through the URL,
 * prints one JSON line, then either exits or stays alive (to be `kill -9`ed).
 */
function spawnEnsurer(home: string, options: { stay?: boolean; uid?: number; gid?: number } = {}): { child: ChildProcess; report: Promise<ChildReport> } {
  const code = `
    import { ensureEmbedded } from ${JSON.stringify(MODULE_URL)};
    import pg from 'pg';
    const r = await ensureEmbedded(process.env.CAMPAIGN_HOME);
    const c = new pg.Client({ connectionString: r.url });
    await c.connect();
    const q = await c.query('select current_database() as db');
    await c.end();
    console.log(JSON.stringify({ url: r.url, started: r.started, initialized: r.initialized, pid: r.info.pid, db: q.rows[0].db, dataDir: r.info.dataDir, runAsUser: r.info.runAsUser }));
    if (${Boolean(options.stay)}) setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, CAMPAIGN_HOME: home, ...(options.uid !== undefined ? { HOME: home } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const report = new Promise<ChildReport>((resolveReport, reject) => {
    const check = () => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolveReport(JSON.parse(line) as ChildReport);
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      check();
      reject(new Error(`child exited (${code}) without a report:\n${err}`));
    });
  });
  return { child, report };
}

describe('cold and warm start in one process', () => {
  const home = freshHome();
  afterAll(async () => destroy(home));

  it('initialises on first use, creates the campaign database, and runs no migrations', async () => {
    expect((await embeddedStatus(home)).initialized).toBe(false);
    const cold = await ensureEmbedded(home);
    expect(cold.started).toBe(true);
    expect(cold.initialized).toBe(true);
    // Password logins only: the owner's URL and the app role's carry generated passwords; the info
    // (what `db status` prints) names the app role and the password file, never a password.
    expect(cold.url).toMatch(new RegExp(`^postgres://postgres:[0-9a-f]{48}@127\\.0\\.0\\.1:${cold.info.port}/campaign$`));
    expect(cold.appUrl).toMatch(new RegExp(`^postgres://campaign_app:[0-9a-f]{48}@127\\.0\\.0\\.1:${cold.info.port}/campaign$`));
    expect(cold.info).toMatchObject({ home, initialized: true, running: true, url: `postgres://campaign_app@127.0.0.1:${cold.info.port}/campaign`, passwordFile: join(home, 'embedded-auth.json') });
    expect(JSON.stringify(cold.info)).not.toContain(new URL(cold.url).password);
    expect(cold.info.serverVersion).toMatch(/^18\.\d+$/);
    const rows = await query<{ db: string; t: string | null; sockets: string; conns: string }>(
      cold.url,
      `select current_database() as db, to_regclass('public.kysely_migration')::text as t,
              current_setting('unix_socket_directories') as sockets, current_setting('max_connections') as conns`,
    );
    expect(rows[0]).toEqual({ db: 'campaign', t: null, sockets: '', conns: '200' });
    expect(JSON.parse(readFileSync(join(home, 'embedded.json'), 'utf8'))).toMatchObject({ port: cold.info.port, dataDir: cold.info.dataDir });
    if (isRoot) {
      // PostgreSQL refuses root: the tools run as `postgres`, with the data outside root's 0700 folders.
      expect(cold.info.runAsUser).toBe('postgres');
      expect(cold.info.dataDir.startsWith(`${ROOT_CLUSTER_BASE}/`)).toBe(true);
      const owner = await query<{ u: string }>(cold.url, `select current_user as u`);
      expect(owner[0]!.u).toBe('postgres');
    } else {
      expect(cold.info.runAsUser).toBeNull();
      expect(cold.info.dataDir).toBe(join(home, 'pgdata'));
    }
  });

  it('a warm start reuses the running server without taking the lock', async () => {
    const before = await embeddedStatus(home);
    // A live process holding the lock would stall the slow path for 90 s; the fast path ignores it.
    writeFileSync(join(home, 'embedded.lock'), JSON.stringify({ pid: process.pid, at: new Date().toISOString() }));
    try {
      const t0 = performance.now();
      const warm = await ensureEmbedded(home);
      const ms = performance.now() - t0;
      expect(warm.started).toBe(false);
      expect(warm.initialized).toBe(false);
      expect(warm.info.url).toBe(before.url);
      expect(warm.info.pid).toBe(before.pid);
      expect(ms).toBeLessThan(5000);
    } finally {
      rmSync(join(home, 'embedded.lock'), { force: true });
    }
  });

  it('LISTEN/NOTIFY reaches another connection', async () => {
    const { url } = await ensureEmbedded(home);
    const listener = new pg.Client({ connectionString: url });
    const notifier = new pg.Client({ connectionString: url });
    await listener.connect();
    await notifier.connect();
    try {
      const got = new Promise<string | undefined>((resolveNote) => listener.on('notification', (n) => resolveNote(n.payload)));
      await listener.query('listen campaign_test');
      await notifier.query(`select pg_notify('campaign_test', 'hello')`);
      await expect(got).resolves.toBe('hello');
    } finally {
      await listener.end();
      await notifier.end();
    }
  });

  it('stopEmbedded stops it, is idempotent, and the next ensureEmbedded starts it again on the same data', async () => {
    const { url } = await ensureEmbedded(home);
    await query(url, 'create table kept (n int); insert into kept values (42)');
    const stop = await stopEmbedded(home);
    expect(stop.stopped).toBe(true);
    expect(stop.info.running).toBe(false);
    expect((await embeddedStatus(home)).running).toBe(false);
    expect((await stopEmbedded(home)).stopped).toBe(false);
    await expect(query(url, 'select 1')).rejects.toThrow();
    const again = await ensureEmbedded(home);
    expect(again.started).toBe(true);
    expect(again.initialized).toBe(false);
    expect(await query(again.url, 'select n from kept')).toEqual([{ n: 42 }]);
  });

  it('moves to another port when its port was taken while it was stopped', async () => {
    const { info } = await stopEmbedded(home);
    const taken = info.port!;
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(taken, '127.0.0.1', () => r()));
    try {
      const r = await ensureEmbedded(home);
      expect(r.started).toBe(true);
      expect(r.info.port).not.toBe(taken);
      expect(await query(r.url, 'select n from kept')).toEqual([{ n: 42 }]);
      expect(readFileSync(join(r.info.dataDir, 'campaign.conf'), 'utf8')).toContain(`port = ${r.info.port}`);
      expect((await embeddedStatus(home)).port).toBe(r.info.port);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
  it('a failed start throws EMBEDDED_DB_FAILED naming the log file, and the next try recovers', async () => {
    const { info } = await stopEmbedded(home);
    const conf = join(info.dataDir, 'postgresql.conf');
    const original = readFileSync(conf, 'utf8');
    writeFileSync(conf, `${original}\nshared_buffers = 'plenty'\n`);
    try {
      const err = await ensureEmbedded(home).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CampaignError);
      expect(err).toMatchObject({ code: 'EMBEDDED_DB_FAILED', details: { logFile: info.logFile } });
      expect((err as CampaignError).message).toContain(info.logFile);
      expect((err as CampaignError).message).toContain('shared_buffers');
    } finally {
      writeFileSync(conf, original);
    }
    const r = await ensureEmbedded(home);
    expect(r.started).toBe(true);
    expect(await query(r.url, 'select n from kept')).toEqual([{ n: 42 }]);
  });
});

/**
 * What the server answers a login without any password: the authentication request of its first
 * message (protocol 3.0). 0 is AuthenticationOk (trust: in, no questions), 10 is SASL (SCRAM).
 */
function authRequest(port: number, user: string): Promise<number> {
  return new Promise((resolveAuth, reject) => {
    const params = Buffer.from(`user\0${user}\0database\0campaign\0\0`);
    const startup = Buffer.alloc(8 + params.length);
    startup.writeInt32BE(startup.length, 0);
    startup.writeInt32BE(196608, 4);
    params.copy(startup, 8);
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(startup));
    let got = Buffer.alloc(0);
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
    socket.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 9) {
        socket.destroy();
        if (got[0] !== 0x52) reject(new Error(`expected an authentication request, got ${String.fromCharCode(got[0]!)}: ${got.toString('utf8', 5)}`));
        else resolveAuth(got.readInt32BE(5));
      }
    });
    socket.on('error', reject);
  });
}

/** A login attempt's outcome: 'ok' or the error's SQLSTATE (or message when it has none). */
async function tryLogin(port: number, user: string, password: string): Promise<string> {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'campaign', connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  try {
    await c.connect();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

/** The pg_hba.conf lines in force (comments and blanks left out). */
function hbaRules(dataDir: string): string[] {
  return readFileSync(join(dataDir, 'pg_hba.conf'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('finding 6: password logins only (scram-sha-256), passwords in a 0600 file', () => {
  const home = freshHome();
  afterAll(async () => destroy(home));

  it('a login without a password, or with a wrong one, is refused; the generated ones work; the file is 0600 and no rule is trust', async () => {
    const r = await ensureEmbedded(home);
    const port = r.info.port!;
    const file = join(home, 'embedded-auth.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const auth = JSON.parse(readFileSync(file, 'utf8'));
    expect(auth).toMatchObject({ version: 1, owner: { user: 'postgres' }, app: { user: 'campaign_app' } });
    expect(auth.owner.password).toBe(decodeURIComponent(new URL(r.url).password));
    expect(auth.app.password).toBe(decodeURIComponent(new URL(r.appUrl).password));

    const rules = hbaRules(r.info.dataDir);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule).toMatch(/scram-sha-256$/);

    // No password: the server does not let us in (0) but asks for a SCRAM exchange (10).
    expect(await authRequest(port, 'postgres')).toBe(10);
    expect(await authRequest(port, 'campaign_app')).toBe(10);
    // A wrong one: 28P01 invalid_password.
    expect(await tryLogin(port, 'postgres', 'wrong')).toBe('28P01');
    expect(await tryLogin(port, 'campaign_app', auth.owner.password)).toBe('28P01');
    expect(await tryLogin(port, 'postgres', auth.owner.password)).toBe('ok');
    expect(await tryLogin(port, 'campaign_app', auth.app.password)).toBe('ok');
    const roles = await query<{ rolname: string; rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
      r.url,
      `select rolname, rolsuper, rolcreaterole, rolcreatedb from pg_roles where rolname = 'campaign_app'`,
    );
    expect(roles).toEqual([{ rolname: 'campaign_app', rolsuper: false, rolcreaterole: false, rolcreatedb: false }]);
  });

  it('a password file someone widened is put back to 0600 on the next start', async () => {
    const file = join(home, 'embedded-auth.json');
    await stopEmbedded(home);
    chmodSync(file, 0o644);
    const r = await ensureEmbedded(home);
    expect(r.started).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a missing password file is a clear error (no new passwords that could not log in), and putting it back recovers', async () => {
    const file = join(home, 'embedded-auth.json');
    await stopEmbedded(home);
    renameSync(file, `${file}.away`);
    try {
      const err = await ensureEmbedded(home).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CampaignError);
      expect(err).toMatchObject({ code: 'EMBEDDED_DB_FAILED' });
      expect((err as CampaignError).message).toContain(file);
      expect(existsSync(file)).toBe(false);
    } finally {
      renameSync(`${file}.away`, file);
    }
    const r = await ensureEmbedded(home);
    expect(await query(r.appUrl, 'select current_user as u')).toEqual([{ u: 'campaign_app' }]);
  });

  it('upgrade: a data directory of an earlier version (trust), with its server running, is converted on the next start without losing data', async () => {
    const before = await ensureEmbedded(home);
    await query(before.url, 'create table if not exists legacy_kept (n int); insert into legacy_kept values (7)');
    await stopEmbedded(home);
    // What an earlier version left: pg_hba.conf as `initdb --auth=trust` writes it, no password
    // file, no password on the superuser, a state file without `auth`; and its server running.
    const dataDir = before.info.dataDir;
    writeFileSync(
      join(dataDir, 'pg_hba.conf'),
      ['local all all trust', 'host all all 127.0.0.1/32 trust', 'host all all ::1/128 trust', 'local replication all trust', 'host replication all 127.0.0.1/32 trust', ''].join('\n'),
    );
    if (isRoot) {
      const runAs = runAsFor()!;
      chownSync(join(dataDir, 'pg_hba.conf'), runAs.uid, runAs.gid);
    }
    rmSync(join(home, 'embedded-auth.json'));
    const bins = await reachableBinaries(runAsFor(), ROOT_CLUSTER_BASE);
    const start = await runProcess(bins.pgCtl, ['start', '-D', dataDir, '-l', before.info.logFile, '-w', '-t', '30', '-o', `-p ${before.info.port}`], {
      runAs: runAsFor(),
      cwd: dirname(dataDir),
      timeoutMs: 45_000,
    });
    expect(start.code, start.stderr).toBe(0);
    const port = before.info.port!;
    // The earlier version's server: anyone on this machine gets in, with or without a password.
    expect(await authRequest(port, 'postgres')).toBe(0);
    expect(await tryLogin(port, 'postgres', 'anything')).toBe('ok');
    await query(`postgres://postgres@127.0.0.1:${port}/campaign`, 'alter role postgres password null');
    const pm = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const state = JSON.parse(readFileSync(join(home, 'embedded.json'), 'utf8'));
    delete state.auth;
    writeFileSync(join(home, 'embedded.json'), JSON.stringify({ ...state, readyPid: pm }));

    const after = await ensureEmbedded(home);
    // The same server (converted by a reload, not a restart), the data kept, trust gone.
    expect(after.started).toBe(false);
    expect(after.info.pid).toBe(pm);
    expect(await query(after.url, 'select n from legacy_kept')).toEqual([{ n: 7 }]);
    expect(statSync(join(home, 'embedded-auth.json')).mode & 0o777).toBe(0o600);
    for (const rule of hbaRules(dataDir)) expect(rule).toMatch(/scram-sha-256$/);
    expect(await authRequest(port, 'postgres')).toBe(10);
    expect(await tryLogin(port, 'postgres', 'wrong')).toBe('28P01');
    expect(await query(after.appUrl, 'select current_user as u')).toEqual([{ u: 'campaign_app' }]);
    // And the fast path holds from now on.
    const warm = await ensureEmbedded(home);
    expect(warm).toMatchObject({ started: false, url: after.url, appUrl: after.appUrl });
  });
});

describe('shared by several processes', () => {
  const home = freshHome();
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await destroy(home);
  });

  let url = '';
  let starterPid = 0;

  it('two processes starting together get one server and the same URL', async () => {
    const a = spawnEnsurer(home, { stay: true });
    const b = spawnEnsurer(home, { stay: true });
    children.push(a.child, b.child);
    const [ra, rb] = await Promise.all([a.report, b.report]);
    expect(ra.url).toBe(rb.url);
    expect(ra.pid).toBe(rb.pid);
    expect([ra.db, rb.db]).toEqual(['campaign', 'campaign']);
    // Exactly one of them ran initdb and pg_ctl start.
    expect([ra.started, rb.started].sort()).toEqual([false, true]);
    expect([ra.initialized, rb.initialized].sort()).toEqual([false, true]);
    url = ra.url;
    starterPid = ra.pid;
    const status = await embeddedStatus(home);
    expect(status).toMatchObject({ running: true, pid: ra.pid, port: Number(new URL(ra.url).port) });
  });

  it('survives kill -9 of the processes that started and used it', async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))));
    expect(await query(url, 'select 1 as one')).toEqual([{ one: 1 }]);
    const r = await ensureEmbedded(home);
    expect(r.started).toBe(false);
    expect(r.info.pid).toBe(starterPid);
  });

  it('restarts after the postmaster itself is killed with -9 (stale postmaster.pid)', async () => {
    const before = await embeddedStatus(home);
    process.kill(before.pid!, 'SIGKILL');
    // The pid file stays behind, naming a dead (or not yet reaped) postmaster.
    const pidFile = join(before.dataDir, 'postmaster.pid');
    expect(existsSync(pidFile)).toBe(true);
    expect(Number(readFileSync(pidFile, 'utf8').split('\n')[0])).toBe(before.pid);
    for (let i = 0; i < 50 && (await embeddedStatus(home)).running; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await embeddedStatus(home)).running).toBe(false);
    const after = await ensureEmbedded(home);
    expect(after.started).toBe(true);
    expect(after.initialized).toBe(false);
    expect(after.info.pid).not.toBe(before.pid);
    expect(await query(after.url, 'select current_database() as db')).toEqual([{ db: 'campaign' }]);
  });

  it('a stale lock file left by a dead process does not block the next start', async () => {
    await stopEmbedded(home);
    // A pid that cannot be alive: above the kernel's pid_max.
    writeFileSync(join(home, 'embedded.lock'), JSON.stringify({ pid: 2 ** 30, at: new Date(0).toISOString() }));
    const r = await ensureEmbedded(home);
    expect(r.started).toBe(true);
    expect(existsSync(join(home, 'embedded.lock'))).toBe(false);
    expect(await query(r.url, 'select 1 as one')).toEqual([{ one: 1 }]);
  });
});

describe.skipIf(!isRoot)('as root', () => {
  const cleanup: string[] = [];
  afterAll(() => {
    for (const p of cleanup) rmSync(p, { recursive: true, force: true });
  });

  it('copies the binaries to a reachable folder when the postgres user cannot reach them', async () => {
    const runAs = runAsFor()!;
    const pkg = await packagedBinaries();
    // A checkout under a 0700 folder (root's home, a mkdtemp folder) is out of the user's reach.
    const hidden = mkdtempSync(join(tmpdir(), 'campaign-hidden-'));
    const reachable = mkdtempSync(join(tmpdir(), 'campaign-reachable-'));
    cleanup.push(hidden, reachable);
    cpSync(dirname(pkg.binDir), join(hidden, 'native'), { recursive: true, verbatimSymlinks: true });
    const source = { ...pkg, binDir: join(hidden, 'native/bin'), pgCtl: join(hidden, 'native/bin/pg_ctl') };
    const { chmodSync } = await import('node:fs');
    chmodSync(reachable, 0o755);
    const bins = await reachableBinaries(runAs, join(reachable, 'base'), source);
    expect(bins.binDir).toBe(join(reachable, 'base', `bin-${pkg.packageVersion}`, 'bin'));
    const r = await runProcess(bins.postgres, ['--version'], { runAs });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/PostgreSQL\) 18\./);
    // Second call reuses the copy.
    expect((await reachableBinaries(runAs, join(reachable, 'base'), source)).binDir).toBe(bins.binDir);
  });

  it('as a normal user, the data lives in <home>/pgdata and nothing runs as another user', async () => {
    const runAs = runAsFor()!;
    const home = freshHome();
    chownSync(home, runAs.uid, runAs.gid);
    cleanup.push(home);
    const first = spawnEnsurer(home, { uid: runAs.uid, gid: runAs.gid });
    const r = await first.report;
    try {
      expect(r.dataDir).toBe(join(home, 'pgdata'));
      expect(r.runAsUser).toBeNull();
      expect(r.started).toBe(true);
      expect(await query(r.url, 'select current_database() as db')).toEqual([{ db: 'campaign' }]);
      const second = await spawnEnsurer(home, { uid: runAs.uid, gid: runAs.gid }).report;
      expect(second).toMatchObject({ url: r.url, pid: r.pid, started: false });
    } finally {
      // Root can stop it too: the data belongs to the same `postgres` user the root path runs as.
      await stopEmbedded(home);
    }
    expect((await embeddedStatus(home)).running).toBe(false);
  });
});
