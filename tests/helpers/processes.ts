// Long-lived processes of the built CLI for the e2e tests that kill, signal or race them: spawn
// one, wait for it with a deadline, poll for a condition, and kill whatever is left at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN, type CliResult } from './run-cli.js';

export interface Spawned {
  child: ChildProcess;
  done: Promise<CliResult>;
}

const children = new Set<ChildProcess>();

/**
 * Starts `campaign <args>` and collects its output. `done` resolves when it exits: `json` is its
 * stdout as one JSON document, or the last line of NDJSON; a process killed by SIGKILL reports
 * code 137, by another signal 128.
 */
export function spawnCli(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      children.delete(child);
      let json: any;
      for (const text of [stdout.trim(), stdout.trim().split('\n').at(-1) ?? '']) {
        try {
          json = JSON.parse(text);
          break;
        } catch {
          json = undefined;
        }
      }
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : signal ? 128 : -1), stdout, stderr, json });
    });
  });
  return { child, done };
}

/** SIGKILLs every process spawnCli started that has not exited yet (for afterAll). */
export function killSpawned(): void {
  for (const c of children) c.kill('SIGKILL');
}

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it gives a truthy value (returned), or throws naming `what` after `timeoutMs`. */
export async function until<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string | (() => string),
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(everyMs);
  }
}
