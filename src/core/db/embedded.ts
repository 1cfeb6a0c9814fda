// The embedded campaign database: one real PostgreSQL server per CAMPAIGN_HOME, run detached by
// pg_ctl (its own session, so it outlives whichever `campaign` process started it, `kill -9`
// included) and shared by every `campaign` process on the machine. Used when DATABASE_URL is unset.
//
// ensureEmbedded has two paths. The fast one costs a few file reads and one TCP connect (no
// spawn): <home>/embedded.json names the data directory and port, the postmaster.pid there names
// a live postmaster whose working directory is that data directory, and the port answers. Only
// when that fails does it take <home>/embedded.lock and go through initdb / pg_ctl start.
//
// Layout. As a normal user: <home>/pgdata, <home>/postgres.log, binaries used in place. As root
// (PostgreSQL refuses to run as root) the tools run as the OS user `postgres`, which cannot enter
// root's 0700 home nor mkdtemp folders, so the cluster lives in
// /var/lib/campaign-embedded/<sha256(home)[0..12]>/{data,postgres.log}, and the binaries are
// copied to /var/lib/campaign-embedded/bin-<version> when that user cannot reach the package.
//
// Authentication (issue 9, finding 6). Every login is a password login (scram-sha-256) over TCP
// from 127.0.0.1; nothing is `trust`. The passwords are generated on first use and kept in
// <home>/embedded-auth.json (mode 0600, owned by whoever runs campaign), so a local process that
// cannot read that file cannot connect. The server never reads it: PostgreSQL keeps the SCRAM
// verifiers in its catalog, which is why it also works as root with the server running as
// `postgres`. Two roles (README, "Two database roles"): the superuser `postgres` owns and migrates
// the schema; every command connects as `campaign_app` (src/core/db/roles.ts), which owns nothing.
// A data directory from an earlier version (pg_hba.conf `trust`) is converted on its next start:
// passwords set, pg_hba.conf rewritten, configuration reloaded; no data is touched.
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  chmodSync,
  openSync,
  readSync,
  closeSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CampaignError } from '../errors.js';
import { type Log, silentLog } from '../log.js';
import { type EmbeddedBinaries, mkdirEnterable, packagedBinaries, reachableBinaries } from './embedded-binaries.js';
import { isPidAlive, withEmbeddedLock } from './embedded-lock.js';
import { RUN_AS_USER, type RunAs, isRoot, runAsFor, runProcess } from './embedded-process.js';
import { EMBEDDED_APP_ROLE } from './roles.js';

export interface EmbeddedInfo {
  home: string;
  dataDir: string;
  binDir: string;
  logFile: string;
  port: number | null;
  /** Where the app role connects, without its password (that is in passwordFile). */
  url: string | null;
  /** The generated passwords of the owner and app roles (mode 0600); never printed. */
  passwordFile: string;
  ownerRole: string;
  appRole: string;
  initialized: boolean;
  running: boolean;
  pid: number | null;
  serverVersion: string;
  runAsUser: string | null;
}

export interface EnsureResult {
  /** The owner (superuser) URL, password included: migrations, creating databases. */
  url: string;
  /** The app role's URL, password included: what every command connects as. */
  appUrl: string;
  info: EmbeddedInfo;
  /** This call started the server. */
  started: boolean;
  /** This call created the data directory (initdb). */
  initialized: boolean;
}

/** Where clusters live when campaign runs as root (enterable by the `postgres` user). */
export const ROOT_CLUSTER_BASE = '/var/lib/campaign-embedded';
const STATE_FILE = 'embedded.json';
const LOCK_FILE = 'embedded.lock';
const CONF_FILE = 'campaign.conf';
const AUTH_FILE = 'embedded-auth.json';
const HBA_MARKER = '# campaign-auth: scram-sha-256 v1';
const DATABASE = 'campaign';
const SUPERUSER = 'postgres';
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;
const START_TIMEOUT_S = 30;

interface EmbeddedState {
  version: 1;
  dataDir: string;
  binDir: string;
  logFile: string;
  port: number | null;
  serverVersion: string;
  runAsUser: string | null;
  /** The postmaster pid for which the `campaign` database was last verified; the fast path requires it. */
  readyPid: number | null;
  /** Set once password authentication is verified; a state file without it (an earlier version) takes the slow path. */
  auth: 'scram-sha-256' | null;
}

/** <home>/embedded-auth.json: the generated passwords (mode 0600). */
export interface EmbeddedAuth {
  version: 1;
  owner: { user: string; password: string };
  app: { user: string; password: string };
}

interface Layout {
  home: string;
  stateFile: string;
  lockFile: string;
  dataDir: string;
  logFile: string;
}

interface Postmaster {
  pid: number;
  port: number;
  status: string;
}

/** A URL of the embedded server; without a password it is for display only (logins need one). */
export function embeddedUrl(port: number, user: string = EMBEDDED_APP_ROLE, password?: string, database: string = DATABASE): string {
  return `postgres://${user}${password ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:${port}/${database}`;
}

export function embeddedPasswordFile(home: string): string {
  return join(resolve(home), AUTH_FILE);
}

/** The URLs (passwords included) of a running or stopped server; never starts anything. */
export function embeddedUrls(home: string): { url: string; appUrl: string } | undefined {
  const absHome = resolve(home);
  const state = readState(absHome);
  const auth = readAuth(absHome);
  const port = state ? (readConfPort(state.dataDir) ?? state.port) : null;
  if (!auth || !port) return undefined;
  return { url: embeddedUrl(port, auth.owner.user, auth.owner.password), appUrl: embeddedUrl(port, auth.app.user, auth.app.password) };
}

// ---------------------------------------------------------------------------------------------
// Public API

export async function ensureEmbedded(home: string, log: Log = silentLog): Promise<EnsureResult> {
  const absHome = resolve(home);
  const fast = await fastPath(absHome);
  if (fast) {
    log.debug('embedded database already running', { port: fast.info.port, dataDir: fast.info.dataDir });
    return fast;
  }
  try {
    mkdirSync(absHome, { recursive: true });
  } catch (e) {
    throw new CampaignError(
      'EMBEDDED_DB_FAILED',
      `Cannot create CAMPAIGN_HOME ${absHome} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Set CAMPAIGN_HOME to a writable folder, or set DATABASE_URL.`,
      { home: absHome },
    );
  }
  // The holder may legitimately need initdb (~1 s), a start that waits up to 30 s (crash
  // recovery) and one retry on another port, so waiters give up later than that.
  return withEmbeddedLock(join(absHome, LOCK_FILE), () => ensureLocked(absHome, log), { timeoutMs: 90_000 });
}

/** What is there and whether it runs; never starts, creates or changes anything. */
export async function embeddedStatus(home: string): Promise<EmbeddedInfo> {
  const absHome = resolve(home);
  const state = readState(absHome);
  const layout = layoutFor(absHome, state);
  let pkg: EmbeddedBinaries | undefined;
  if (!state) pkg = await packagedBinaries().catch(() => undefined);
  const pm = runningPostmaster(layout.dataDir);
  const port = pm?.port ?? state?.port ?? readConfPort(layout.dataDir) ?? null;
  return {
    home: absHome,
    dataDir: layout.dataDir,
    binDir: state?.binDir ?? pkg?.binDir ?? '',
    logFile: layout.logFile,
    port,
    url: port ? embeddedUrl(port) : null,
    passwordFile: join(absHome, AUTH_FILE),
    ownerRole: SUPERUSER,
    appRole: EMBEDDED_APP_ROLE,
    initialized: isInitialized(layout.dataDir),
    running: Boolean(pm),
    pid: pm?.pid ?? null,
    serverVersion: state?.serverVersion ?? pkg?.serverVersion ?? 'unknown',
    runAsUser: isRoot() ? RUN_AS_USER : null,
  };
}

/** Stops the server (`pg_ctl stop -m fast`): sessions are disconnected, nothing committed is lost. Idempotent. */
export async function stopEmbedded(home: string): Promise<{ stopped: boolean; info: EmbeddedInfo }> {
  const absHome = resolve(home);
  if (!existsSync(absHome)) return { stopped: false, info: await embeddedStatus(absHome) };
  const stopped = await withEmbeddedLock(join(absHome, LOCK_FILE), async () => {
    const state = readState(absHome);
    const layout = layoutFor(absHome, state);
    if (!runningPostmaster(layout.dataDir)) return false;
    const runAs = runAsFor();
    const pgCtl = state && existsSync(join(state.binDir, 'pg_ctl')) ? join(state.binDir, 'pg_ctl') : (await reachableBinaries(runAs, ROOT_CLUSTER_BASE)).pgCtl;
    const r = await runProcess(pgCtl, ['stop', '-D', layout.dataDir, '-m', 'fast', '-w', '-t', '60'], {
      runAs,
      cwd: dirname(layout.dataDir),
      timeoutMs: 90_000,
    });
    if (r.code !== 0 && runningPostmaster(layout.dataDir)) {
      throw new CampaignError(
        'EMBEDDED_DB_FAILED',
        `Could not stop the embedded PostgreSQL server (pg_ctl exit ${r.code}): ${(r.stderr || r.stdout).trim()}. See ${layout.logFile}.`,
        { logFile: layout.logFile, dataDir: layout.dataDir },
      );
    }
    if (state) writeState(absHome, { ...state, readyPid: null, auth: null });
    return true;
  });
  return { stopped, info: await embeddedStatus(absHome) };
}

// ---------------------------------------------------------------------------------------------
// Fast path: no lock, no spawn.

async function fastPath(home: string): Promise<EnsureResult | undefined> {
  const state = readState(home);
  if (!state || !state.port || !state.readyPid || state.auth !== 'scram-sha-256') return undefined;
  const auth = readAuth(home);
  if (!auth) return undefined;
  const pm = runningPostmaster(state.dataDir);
  if (!pm || pm.pid !== state.readyPid || pm.port !== state.port || pm.status !== 'ready') return undefined;
  if (!(await canConnect(pm.port))) return undefined;
  const info: EmbeddedInfo = {
    home,
    dataDir: state.dataDir,
    binDir: state.binDir,
    logFile: state.logFile,
    port: pm.port,
    url: embeddedUrl(pm.port),
    passwordFile: join(home, AUTH_FILE),
    ownerRole: SUPERUSER,
    appRole: EMBEDDED_APP_ROLE,
    initialized: true,
    running: true,
    pid: pm.pid,
    serverVersion: state.serverVersion,
    runAsUser: state.runAsUser,
  };
  return { ...connectionUrls(pm.port, auth), info, started: false, initialized: false };
}

// ---------------------------------------------------------------------------------------------
// Slow path, under the lock: init if needed, start if needed, create the database if needed.

async function ensureLocked(home: string, log: Log): Promise<EnsureResult> {
  // Another process may have done the work while we waited for the lock.
  const again = await fastPath(home);
  if (again) return again;

  const state = readState(home);
  const runAs = runAsFor();
  const layout = layoutFor(home, state);
  prepareClusterFolder(layout, runAs);
  const bins = await reachableBinaries(runAs, ROOT_CLUSTER_BASE);
  const cwd = dirname(layout.dataDir);
  const auth = loadOrCreateAuth(home, layout);

  let initialized = false;
  // campaign.conf inside the data directory is the truth about the port; the state file a cache.
  let port = readConfPort(layout.dataDir) ?? state?.port ?? null;
  if (!isInitialized(layout.dataDir)) {
    if (existsSync(layout.dataDir)) {
      // No PG_VERSION: what is left of an initdb that was killed. Nothing usable is in it.
      log.warn('removing an incomplete embedded database folder', { dataDir: layout.dataDir });
      try {
        rmSync(layout.dataDir, { recursive: true, force: true });
      } catch (e) {
        throw new CampaignError(
          'EMBEDDED_DB_FAILED',
          `${layout.dataDir} exists but holds no PostgreSQL cluster (no PG_VERSION), and it could not be removed (${(e as Error).message}). Remove or move it, then retry; or set DATABASE_URL.`,
          { dataDir: layout.dataDir },
        );
      }
    }
    log.info(`Creating the embedded PostgreSQL database in ${layout.dataDir} (first run)`);
    // initdb reads the superuser's password from a file (as the run-as user): one that only it can read, removed at once.
    const pwFile = join(cwd, `.campaign-pwfile-${process.pid}`);
    writeFileSync(pwFile, `${auth.owner.password}\n`, { mode: 0o600 });
    if (runAs) chownSync(pwFile, runAs.uid, runAs.gid);
    const r = await runProcess(
      bins.initdb,
      ['-D', layout.dataDir, '-U', SUPERUSER, '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--locale=C', '--no-instructions'],
      { runAs, cwd, timeoutMs: 120_000 },
    ).finally(() => rmSync(pwFile, { force: true }));
    if (r.code !== 0) {
      throw new CampaignError(
        'EMBEDDED_DB_FAILED',
        `initdb failed (exit ${r.code ?? r.signal}) creating the embedded database in ${layout.dataDir}: ${lastLines(r.stderr || r.stdout, 8)}\n` +
          `Fix the cause (disk space, permissions), delete ${layout.dataDir} if it is left over, and retry; or set DATABASE_URL to use another PostgreSQL server.`,
        { dataDir: layout.dataDir, stderr: r.stderr },
      );
    }
    port = await freePort();
    writeConf(layout.dataDir, port, runAs);
    writeHba(layout.dataDir, runAs);
    initialized = true;
  }
  // A data directory of an earlier version trusts every local login: converted below, once it runs.
  const legacyTrust = !hbaIsOurs(layout.dataDir);
  if (legacyTrust) log.warn(`securing the embedded database in ${layout.dataDir}: password logins from now on (passwords in ${join(home, AUTH_FILE)})`);
  checkMajorVersion(layout, bins);
  if (port === null) {
    port = await freePort();
    writeConf(layout.dataDir, port, runAs);
  }
  const saveState = (p: number, readyPid: number | null) =>
    writeState(home, {
      version: 1,
      dataDir: layout.dataDir,
      binDir: bins.binDir,
      logFile: layout.logFile,
      port: p,
      serverVersion: bins.serverVersion,
      runAsUser: runAs?.user ?? null,
      readyPid,
      auth: readyPid === null ? null : 'scram-sha-256',
    });
  saveState(port, null);

  let started = false;
  let pm = await settledPostmaster(layout.dataDir);
  if (!pm) {
    clearStalePidFile(layout.dataDir, log);
    port = await startServer(bins, layout, port, runAs, log);
    started = true;
    pm = runningPostmaster(layout.dataDir);
    if (!pm) throw startFailed(layout, 'the server exited right after starting');
  }
  port = pm.port;
  await secureAndEnsureDatabase(port, layout, auth, runAs, legacyTrust);
  saveState(port, pm.pid);
  const info: EmbeddedInfo = {
    home,
    dataDir: layout.dataDir,
    binDir: bins.binDir,
    logFile: layout.logFile,
    port,
    url: embeddedUrl(port),
    passwordFile: join(home, AUTH_FILE),
    ownerRole: SUPERUSER,
    appRole: EMBEDDED_APP_ROLE,
    initialized: true,
    running: true,
    pid: pm.pid,
    serverVersion: bins.serverVersion,
    runAsUser: runAs?.user ?? null,
  };
  return { ...connectionUrls(port, auth), info, started, initialized };
}

function connectionUrls(port: number, auth: EmbeddedAuth): { url: string; appUrl: string } {
  return { url: embeddedUrl(port, auth.owner.user, auth.owner.password), appUrl: embeddedUrl(port, auth.app.user, auth.app.password) };
}

async function startServer(bins: EmbeddedBinaries, layout: Layout, firstPort: number, runAs: RunAs | undefined, log: Log): Promise<number> {
  let port = firstPort;
  let portChanged = false;
  const movePort = async (why: string) => {
    const next = await freePort();
    log.warn(`embedded database port ${port} ${why}; moving to ${next}`, { dataDir: layout.dataDir });
    writeConf(layout.dataDir, next, runAs);
    port = next;
    portChanged = true;
  };
  if (!(await portIsFree(port))) await movePort('is taken by another program');
  for (let attempt = 1; ; attempt++) {
    rotateLog(layout.logFile);
    const offset = fileSize(layout.logFile);
    log.debug('starting the embedded PostgreSQL server', { port, dataDir: layout.dataDir });
    const r = await runProcess(
      bins.pgCtl,
      ['start', '-D', layout.dataDir, '-l', layout.logFile, '-w', '-t', String(START_TIMEOUT_S), '-o', `-p ${port}`],
      { runAs, cwd: dirname(layout.dataDir), timeoutMs: (START_TIMEOUT_S + 15) * 1000 },
    );
    if (r.code === 0) return port;
    const tail = readFrom(layout.logFile, offset);
    if (attempt < 5 && !portChanged && /could not bind|address already in use/i.test(tail)) {
      await movePort('could not be bound');
      continue;
    }
    // After a `kill -9` of the postmaster its children take a moment to notice and exit; until
    // they do, PostgreSQL refuses to start on the shared memory they still hold.
    if (attempt < 5 && /shared memory block .*still in use|lock file .* already exists/i.test(tail)) {
      await sleep(300 * attempt);
      continue;
    }
    throw startFailed(layout, lastLines(tail || r.stderr || r.stdout, 12));
  }
}

function startFailed(layout: Layout, detail: string): CampaignError {
  return new CampaignError(
    'EMBEDDED_DB_FAILED',
    `The embedded PostgreSQL server did not start. Its log is ${layout.logFile}${detail ? `; last lines:\n${detail}\n` : '. '}` +
      `Fix the cause shown there and retry (\`campaign db status\` shows the data folder and port), or set DATABASE_URL to use another PostgreSQL server.`,
    { logFile: layout.logFile, dataDir: layout.dataDir },
  );
}

/**
 * Under the lock, with the server running: converts a `trust` cluster of an earlier version (sets
 * the owner's password while trust still lets us in, rewrites pg_hba.conf), reloads the
 * configuration (so a pg_hba.conf written just before a crash takes effect too), proves that a
 * wrong password is refused, creates the `campaign` database and the app role when missing and
 * sets the app role's password. Migrations and grants are the caller's business (open-database.ts).
 */
async function secureAndEnsureDatabase(port: number, layout: Layout, auth: EmbeddedAuth, runAs: RunAs | undefined, legacyTrust: boolean): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password: auth.owner.password, database: 'postgres', connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  try {
    try {
      await client.connect();
    } catch (e) {
      if ((e as { code?: string }).code === '28P01') {
        throw new CampaignError(
          'EMBEDDED_DB_FAILED',
          `The embedded PostgreSQL server on port ${port} refused the owner password in ${join(layout.home, AUTH_FILE)}: that file does not belong to the data in ${layout.dataDir}. ` +
            `Put back the password file that was created with this data (or set DATABASE_URL to use another server).`,
          { passwordFile: join(layout.home, AUTH_FILE), dataDir: layout.dataDir },
        );
      }
      throw e;
    }
    await client.query(`alter role ${SUPERUSER} with password ${literal(auth.owner.password)}`);
    if (legacyTrust) writeHba(layout.dataDir, runAs);
    await client.query('select pg_reload_conf()');
    const found = await client.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (found.rowCount === 0) {
      try {
        await client.query(`create database ${DATABASE}`);
      } catch (e) {
        if ((e as { code?: string }).code !== '42P04') throw e; // duplicate_database: fine
      }
    }
    const role = await client.query('select 1 from pg_roles where rolname = $1', [auth.app.user]);
    const verb = role.rowCount === 0 ? 'create' : 'alter';
    await client.query(`${verb} role ${auth.app.user} with login nosuperuser nocreatedb nocreaterole noreplication password ${literal(auth.app.password)}`);
  } catch (e) {
    if (e instanceof CampaignError) throw e;
    throw new CampaignError(
      'EMBEDDED_DB_FAILED',
      `The embedded PostgreSQL server runs on port ${port} but the "${DATABASE}" database could not be checked or created: ${(e as Error).message}. See ${layout.logFile}.`,
      { logFile: layout.logFile, port },
    );
  } finally {
    await client.end().catch(() => {});
  }
  await assertPasswordRequired(port, layout);
}

/** A login with a wrong password must fail: proof that no `trust` line is in force (the reload is asynchronous). */
async function assertPasswordRequired(port: number, layout: Layout): Promise<void> {
  const { default: pg } = await import('pg');
  const deadline = Date.now() + 5000;
  for (;;) {
    const probe = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password: `wrong-${randomBytes(8).toString('hex')}`, database: 'postgres', connectionTimeoutMillis: 5000 });
    probe.on('error', () => {});
    const accepted = await probe.connect().then(
      () => true,
      () => false,
    );
    await probe.end().catch(() => {});
    if (!accepted) return;
    if (Date.now() > deadline) {
      throw new CampaignError(
        'EMBEDDED_DB_FAILED',
        `The embedded PostgreSQL server on port ${port} still accepts a login with a wrong password after pg_hba.conf was rewritten for password logins. Check ${join(layout.dataDir, 'pg_hba.conf')} and ${layout.logFile}.`,
        { dataDir: layout.dataDir, logFile: layout.logFile },
      );
    }
    await sleep(100);
  }
}

/** A SQL string literal; the passwords are hex, but quote properly anyway. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

// ---------------------------------------------------------------------------------------------
// Layout and state

function layoutFor(home: string, state: EmbeddedState | undefined): Layout {
  const base = { home, stateFile: join(home, STATE_FILE), lockFile: join(home, LOCK_FILE) };
  if (state) return { ...base, dataDir: state.dataDir, logFile: state.logFile };
  if (isRoot()) {
    const cluster = join(ROOT_CLUSTER_BASE, homeKey(home));
    return { ...base, dataDir: join(cluster, 'data'), logFile: join(cluster, 'postgres.log') };
  }
  return { ...base, dataDir: join(home, 'pgdata'), logFile: join(home, 'postgres.log') };
}

/** First 12 hex characters of sha256 of the resolved home: one cluster per CAMPAIGN_HOME. */
export function homeKey(home: string): string {
  let path = resolve(home);
  try {
    path = realpathSync(path);
  } catch {
    // not created yet: the resolved path is what it will be
  }
  return createHash('sha256').update(path).digest('hex').slice(0, 12);
}

/** As root, the folder holding data and log must belong to the run-as user (initdb creates data in it). */
function prepareClusterFolder(layout: Layout, runAs: RunAs | undefined): void {
  const folder = dirname(layout.dataDir);
  if (!runAs) {
    mkdirSync(folder, { recursive: true, mode: 0o755 });
    return;
  }
  if (folder.startsWith(`${ROOT_CLUSTER_BASE}/`)) mkdirEnterable(ROOT_CLUSTER_BASE);
  mkdirSync(folder, { recursive: true, mode: 0o755 });
  const st = statSync(folder);
  if (st.uid !== runAs.uid) chownSync(folder, runAs.uid, runAs.gid);
}

function readState(home: string): EmbeddedState | undefined {
  try {
    const s = JSON.parse(readFileSync(join(home, STATE_FILE), 'utf8')) as Partial<EmbeddedState>;
    if (s.version !== 1 || typeof s.dataDir !== 'string' || typeof s.logFile !== 'string' || typeof s.binDir !== 'string') return undefined;
    return {
      version: 1,
      dataDir: s.dataDir,
      binDir: s.binDir,
      logFile: s.logFile,
      port: typeof s.port === 'number' ? s.port : null,
      serverVersion: typeof s.serverVersion === 'string' ? s.serverVersion : 'unknown',
      runAsUser: typeof s.runAsUser === 'string' ? s.runAsUser : null,
      readyPid: typeof s.readyPid === 'number' ? s.readyPid : null,
      auth: s.auth === 'scram-sha-256' ? 'scram-sha-256' : null,
    };
  } catch {
    return undefined;
  }
}

function writeState(home: string, state: EmbeddedState): void {
  const path = join(home, STATE_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

function isInitialized(dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION'));
}

function checkMajorVersion(layout: Layout, bins: EmbeddedBinaries): void {
  const dataMajor = Number(readFileSync(join(layout.dataDir, 'PG_VERSION'), 'utf8').trim());
  if (bins.major && dataMajor && dataMajor !== bins.major) {
    throw new CampaignError(
      'EMBEDDED_DB_FAILED',
      `The embedded database in ${layout.dataDir} was created by PostgreSQL ${dataMajor}, but the installed binaries are PostgreSQL ${bins.major}. ` +
        `Export it with the old version (\`campaign\` of the matching release, pg_dump), then move that folder away to start fresh; or set DATABASE_URL.`,
      { dataDir: layout.dataDir, dataMajor, binariesMajor: bins.major },
    );
  }
}

/** Settings written once at init into campaign.conf (included from postgresql.conf). */
function writeConf(dataDir: string, port: number, runAs: RunAs | undefined): void {
  const conf = join(dataDir, CONF_FILE);
  writeFileSync(
    conf,
    [
      '# Written by campaign (src/core/db/embedded.ts). The port is rewritten when another program takes it.',
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      "# TCP only: Unix socket paths are limited to ~107 bytes and CAMPAIGN_HOME can be long.",
      "unix_socket_directories = ''",
      'shared_buffers = 32MB',
      '# Test runs use several workers, each with a pool.',
      'max_connections = 200',
      'fsync = on',
      '',
    ].join('\n'),
  );
  const main = join(dataDir, 'postgresql.conf');
  const include = `include_if_exists = '${CONF_FILE}'`;
  if (!readFileSync(main, 'utf8').includes(include)) appendFileSync(main, `\n${include}\n`);
  if (runAs) chownSync(conf, runAs.uid, runAs.gid);
}

/** pg_hba.conf: password (SCRAM) logins only, over TCP from this machine (the server has no Unix socket). */
function writeHba(dataDir: string, runAs: RunAs | undefined): void {
  const path = join(dataDir, 'pg_hba.conf');
  const tmp = `${path}.campaign.tmp`;
  writeFileSync(
    tmp,
    [
      '# Written by campaign (src/core/db/embedded.ts). Every login needs its password; the passwords',
      '# are in embedded-auth.json in CAMPAIGN_HOME (mode 0600). `campaign db status` shows where.',
      HBA_MARKER,
      '# TYPE  DATABASE  USER  ADDRESS       METHOD',
      'local   all       all                 scram-sha-256',
      'host    all       all   127.0.0.1/32  scram-sha-256',
      'host    all       all   ::1/128       scram-sha-256',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  if (runAs) chownSync(tmp, runAs.uid, runAs.gid);
  renameSync(tmp, path);
}

function hbaIsOurs(dataDir: string): boolean {
  try {
    return readFileSync(join(dataDir, 'pg_hba.conf'), 'utf8').includes(HBA_MARKER);
  } catch {
    return false;
  }
}

function readAuth(home: string): EmbeddedAuth | undefined {
  let text: string;
  try {
    text = readFileSync(join(home, AUTH_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const a = JSON.parse(text) as Partial<EmbeddedAuth>;
    if (a.version === 1 && typeof a.owner?.password === 'string' && typeof a.app?.password === 'string' && a.owner.password && a.app.password) {
      return { version: 1, owner: { user: SUPERUSER, password: a.owner.password }, app: { user: EMBEDDED_APP_ROLE, password: a.app.password } };
    }
  } catch {
    // unreadable JSON: treated as missing below
  }
  return undefined;
}

/**
 * The password file, created on first use (before initdb). Kept at mode 0600 (put back when
 * someone widened it). A missing file for a data directory that already requires passwords is
 * an error: new passwords could not log in, and the old ones are gone with the file.
 */
function loadOrCreateAuth(home: string, layout: Layout): EmbeddedAuth {
  const path = join(home, AUTH_FILE);
  const existing = readAuth(home);
  if (existing) {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return existing;
  }
  if (existsSync(path)) {
    let why = 'it is not a password file campaign wrote';
    try {
      readFileSync(path);
    } catch (e) {
      why = `it cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); run campaign as the user that owns CAMPAIGN_HOME`;
    }
    throw new CampaignError('EMBEDDED_DB_FAILED', `The embedded database's password file ${path} is unusable: ${why}.`, { passwordFile: path });
  }
  if (isInitialized(layout.dataDir) && hbaIsOurs(layout.dataDir)) {
    throw new CampaignError(
      'EMBEDDED_DB_FAILED',
      `The embedded database in ${layout.dataDir} requires passwords, but its password file ${path} is missing. ` +
        `Put the file back from a backup of CAMPAIGN_HOME; without it campaign cannot log in. Or set DATABASE_URL to use another PostgreSQL server.`,
      { passwordFile: path, dataDir: layout.dataDir },
    );
  }
  const auth: EmbeddedAuth = {
    version: 1,
    owner: { user: SUPERUSER, password: randomBytes(24).toString('hex') },
    app: { user: EMBEDDED_APP_ROLE, password: randomBytes(24).toString('hex') },
  };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(auth, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600); // whatever the umask
  renameSync(tmp, path);
  return auth;
}

function readConfPort(dataDir: string): number | null {
  try {
    const m = /^port = (\d+)$/m.exec(readFileSync(join(dataDir, CONF_FILE), 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The postmaster: postmaster.pid lines are pid, data dir, start time, port, socket dir,
// listen address, shared memory key, status.

function readPidFile(dataDir: string): Postmaster | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, port: Number(lines[3]) || 0, status: (lines[7] ?? '').trim() };
}

/**
 * The postmaster of this data directory when one is alive: postmaster.pid names a live process
 * whose working directory is the data directory (a postmaster chdirs there). This is what
 * `pg_ctl status` answers, minus its blind spot for a pid reused by another program.
 */
function runningPostmaster(dataDir: string): Postmaster | undefined {
  const pm = readPidFile(dataDir);
  if (!pm || !isPidAlive(pm.pid)) return undefined;
  return isPostmasterOf(pm.pid, dataDir) ? pm : undefined;
}

function isPostmasterOf(pid: number, dataDir: string): boolean {
  if (!existsSync('/proc/self/cwd')) return true; // no procfs (macOS): trust the live pid
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(dataDir);
  } catch {
    return false;
  }
}

/** A live postmaster that is ready, after waiting out one that is starting or stopping. */
async function settledPostmaster(dataDir: string): Promise<Postmaster | undefined> {
  const deadline = Date.now() + (START_TIMEOUT_S + 30) * 1000;
  for (;;) {
    const pm = runningPostmaster(dataDir);
    if (!pm || pm.status === 'ready') return pm;
    if (Date.now() > deadline) return pm;
    await sleep(100);
  }
}

/**
 * Clears a postmaster.pid that would make PostgreSQL refuse to start although no server runs:
 * - its pid was reused by an unrelated live process (after a crash or a reboot);
 * - its pid is a zombie: the postmaster was `kill -9`ed and nobody has reaped it yet (PID 1 of a
 *   container can take seconds), and PostgreSQL counts a zombie as alive.
 * Either is removed only on proof that no process still works in the data directory (an orphaned
 * backend holding the old shared memory), the check PostgreSQL itself would make from the file.
 * A pid file naming a dead process is left alone: PostgreSQL replaces it after that check.
 * Without procfs (macOS) nothing is proven and nothing is removed; the start is retried instead.
 */
function clearStalePidFile(dataDir: string, log: Log): void {
  const pm = readPidFile(dataDir);
  if (!pm || !isPidAlive(pm.pid) || !existsSync('/proc/self/cwd')) return;
  const dir = realpathSync(dataDir);
  const zombie = isZombie(pm.pid);
  if (!zombie) {
    const cwd = processCwd(pm.pid);
    if (cwd === undefined || cwd === dir) return;
  }
  const busy = processesWorkingIn(dir);
  if (busy.length > 0) return;
  log.warn(`removing a stale postmaster.pid (pid ${pm.pid} is ${zombie ? 'a dead postmaster not yet reaped' : 'an unrelated process'})`, { dataDir });
  rmSync(join(dataDir, 'postmaster.pid'), { force: true });
}

function processCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined; // gone, a zombie, or not ours to inspect
  }
}

function processesWorkingIn(dir: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries.filter((e) => /^\d+$/.test(e) && processCwd(Number(e)) === dir).map(Number);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolveConnect(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolveListen) => {
    const server = createServer();
    server.once('error', () => resolveListen(undefined));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = server.address();
      const got = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolveListen(got));
    });
  });
}

async function freePort(): Promise<number> {
  const port = await listenOnce(0);
  if (!port) throw new CampaignError('EMBEDDED_DB_FAILED', 'Could not find a free TCP port on 127.0.0.1 for the embedded database. Set DATABASE_URL to use another PostgreSQL server.', {});
  return port;
}

async function portIsFree(port: number): Promise<boolean> {
  return (await listenOnce(port)) === port;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function rotateLog(path: string): void {
  if (fileSize(path) > LOG_ROTATE_BYTES) {
    try {
      renameSync(path, `${path}.1`);
    } catch {
      // a log that cannot be rotated keeps growing; not worth failing a start over
    }
  }
}

function readFrom(path: string, offset: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = statSync(path).size;
    const start = Math.max(offset, size - 64 * 1024);
    const buf = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n');
}
