// The lock that keeps two `campaign` processes from starting the embedded server together
// (initdb twice, two postmasters racing for one data directory). A file created with O_EXCL
// holding the owner's pid; it is stale when that pid is gone or it has not been touched for a
// minute (the owner refreshes it while it works), so a `kill -9` never wedges later starts.
import { closeSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CampaignError } from '../errors.js';

const STALE_AFTER_MS = 60_000;
const REFRESH_EVERY_MS = 10_000;
/** A lock file without a readable pid (its writer died between open and write) is stale this soon. */
const UNREADABLE_STALE_AFTER_MS = 5_000;
const BREAKER_STALE_AFTER_MS = 10_000;

interface LockOwner {
  pid: number;
  at: string;
}

/** Runs `fn` holding the lock file at `path`; waits (polling) up to `timeoutMs` for another holder. */
export async function withEmbeddedLock<T>(path: string, fn: () => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (tryCreate(path)) break;
    if (isStale(path) && breakStale(path)) continue;
    if (Date.now() > deadline) {
      const owner = readOwner(path);
      throw new CampaignError(
        'EMBEDDED_DB_FAILED',
        `Another campaign process${owner ? ` (pid ${owner.pid})` : ''} has been starting or stopping the embedded database for more than ${Math.round(timeoutMs / 1000)} s. ` +
          `Wait for it and retry; if no campaign process is running, delete ${path} and retry.`,
        { lockFile: path, owner },
      );
    }
    await sleep(40 + Math.floor(Math.random() * 60));
  }
  const refresh = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // The file is gone (someone judged it stale); the work in progress still finishes.
    }
  }, REFRESH_EVERY_MS);
  refresh.unref();
  try {
    return await fn();
  } finally {
    clearInterval(refresh);
    if (readOwner(path)?.pid === process.pid) {
      try {
        unlinkSync(path);
      } catch {
        // already removed
      }
    }
  }
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new CampaignError(
      'EMBEDDED_DB_FAILED',
      `Cannot create the lock file ${path} (${code ?? (e as Error).message}). Check that CAMPAIGN_HOME is a writable folder, or set DATABASE_URL to use another PostgreSQL server.`,
      { lockFile: path },
    );
  }
  try {
    const owner: LockOwner = { pid: process.pid, at: new Date().toISOString() };
    writeSync(fd, JSON.stringify(owner));
  } finally {
    closeSync(fd);
  }
  return true;
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, at: String(parsed.at ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

function ageMs(path: string): number | undefined {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the pid exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(path: string): boolean {
  const age = ageMs(path);
  if (age === undefined) return false; // gone: the next tryCreate wins or loses fairly
  if (age > STALE_AFTER_MS) return true;
  const owner = readOwner(path);
  if (!owner) return age > UNREADABLE_STALE_AFTER_MS;
  return owner.pid !== process.pid && !isPidAlive(owner.pid);
}

/**
 * Removes a stale lock under a second, short-lived lock, so two processes that both judged it
 * stale cannot each delete it and one of them then delete the other's fresh lock.
 */
function breakStale(path: string): boolean {
  const breaker = `${path}.break`;
  if (!tryCreate(breaker)) {
    const age = ageMs(breaker);
    if (age !== undefined && age > BREAKER_STALE_AFTER_MS) {
      try {
        unlinkSync(breaker);
      } catch {
        // someone else removed it
      }
    }
    return false;
  }
  try {
    if (isStale(path)) unlinkSync(path);
  } catch {
    // already removed
  } finally {
    try {
      unlinkSync(breaker);
    } catch {
      // ignore
    }
  }
  return true;
}
