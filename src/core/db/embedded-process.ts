// Runs the PostgreSQL tools (initdb, pg_ctl, postgres) for the embedded server. PostgreSQL
// refuses to run as root, so a root process runs them as the unprivileged `postgres` OS user
// (spawn with its uid/gid; libuv drops root's supplementary groups), with a small, fixed
// environment: English messages (the start-up log is parsed) and no stray PG* variables.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CampaignError } from '../errors.js';

export const RUN_AS_USER = 'postgres';

export interface RunAs {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The OS user the tools run as: `postgres` when this process is root, else undefined (ourselves). */
export function runAsFor(): RunAs | undefined {
  if (!isRoot()) return undefined;
  const entry = passwdEntry(RUN_AS_USER);
  if (!entry) {
    throw new CampaignError(
      'EMBEDDED_DB_FAILED',
      `campaign runs as root, and PostgreSQL refuses to run as root, so the embedded database runs as the OS user "${RUN_AS_USER}", which does not exist here. ` +
        `Create it (\`useradd --system --create-home --home-dir /var/lib/postgresql ${RUN_AS_USER}\`), run campaign as a normal user, or set DATABASE_URL.`,
      { user: RUN_AS_USER },
    );
  }
  return entry;
}

function passwdEntry(user: string): RunAs | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f.length >= 7) {
      const uid = Number(f[2]);
      const gid = Number(f[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { user, uid, gid, home: f[5] || '/' };
    }
  }
  return undefined;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  runAs?: RunAs;
  /** Working directory; must be enterable by the run-as user (root's cwd often is not). */
  cwd?: string;
  timeoutMs?: number;
}

/** Runs a program to completion and collects its output; never throws for a non-zero exit. */
export function runProcess(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: options.runAs ? options.runAs.home : (process.env.HOME ?? '/'),
    LC_ALL: 'C',
    LANG: 'C',
  };
  if (options.runAs) {
    env.USER = options.runAs.user;
    env.LOGNAME = options.runAs.user;
  } else {
    if (process.env.USER) env.USER = process.env.USER;
    if (process.env.LOGNAME) env.LOGNAME = process.env.LOGNAME;
  }
  if (process.env.TZ) env.TZ = process.env.TZ;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd ?? '/',
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(
        new CampaignError('EMBEDDED_DB_FAILED', `Could not run ${file}: ${e.message}. Reinstall campaign's dependencies (npm ci), or set DATABASE_URL to use another PostgreSQL server.`, {
          file,
        }),
      );
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
