// The CLI edge's plumbing: every command action goes through `kit.action`, which parses the
// global flags, opens the context lazily (commands that need no database never start one),
// prints exactly one result (JSON with --json, a table otherwise) and maps errors to exit codes.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Context } from '../core/context.js';
import type { OpenedDatabase } from '../core/db/open-database.js';
import { CampaignError, toCampaignError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { paint } from './render.js';

export interface GlobalOptions {
  json?: boolean;
  actor?: string;
}

export interface Run {
  readonly json: boolean;
  readonly opts: Record<string, any> & GlobalOptions;
  readonly log: Log;
  config(): Config;
  /** Opens the database (embedded or DATABASE_URL) and builds the core context. */
  ctx(options?: { skipSchemaCheck?: boolean; poolSize?: number }): Promise<Context>;
  database(): OpenedDatabase | undefined;
  /** For streams under --json: one JSON document a line (NDJSON). */
  emit(doc: unknown): void;
  /** Progress and notes for people; stderr, never stdout. */
  note(text: string): void;
  exitCode: number;
  /** Set by streaming commands that already printed their output. */
  printed: boolean;
  /** Closes what the run opened; registered cleanups run in reverse order. */
  onClose(fn: () => Promise<void> | void): void;
}

export type Presenter<T> = (data: T, run: Run) => string;

export function stderrLog(verbose: boolean): Log {
  const line = (level: string, msg: string, fields?: Record<string, unknown>) => {
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    process.stderr.write(`${level}${msg}${extra}\n`);
  };
  return {
    debug: (m, f) => (verbose ? line('debug: ', m, f) : undefined),
    info: (m, f) => line('', m, f),
    warn: (m, f) => line(paint('yellow', 'warning: ', process.stderr), m, f),
    error: (m, f) => line(paint('red', 'error: ', process.stderr), m, f),
  };
}

function resolveActor(opts: GlobalOptions, config: Config | undefined): string {
  if (opts.actor && opts.actor.trim() !== '') return opts.actor.trim();
  if (config?.actor) return config.actor;
  try {
    return userInfo().username || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

// zod (behind config) is loaded only when a command runs, not for `--help` (start-up time).
let loadConfig: typeof import('../core/config.js').loadConfig | undefined;

export async function preloadConfig(): Promise<void> {
  loadConfig ??= (await import('../core/config.js')).loadConfig;
}

export function createRun(opts: Record<string, any>): Run {
  let config: Config | undefined;
  let opened: OpenedDatabase | undefined;
  let context: Context | undefined;
  const closers: Array<() => Promise<void> | void> = [];
  const log = stderrLog(Boolean(process.env.CAMPAIGN_DEBUG));
  const run: Run = {
    json: Boolean(opts.json),
    opts,
    log,
    exitCode: 0,
    printed: false,
    config() {
      if (!loadConfig) throw new Error('preloadConfig() must run before run.config()');
      config ??= loadConfig();
      return config;
    },
    async ctx(options = {}) {
      if (context) return context;
      const { openDatabase } = await import('../core/db/open-database.js');
      const cfg = run.config();
      opened = await openDatabase(cfg, { skipSchemaCheck: options.skipSchemaCheck, log, poolSize: options.poolSize });
      closers.push(() => opened!.db.destroy());
      context = { db: opened.db, clock: systemClock, log, actor: resolveActor(opts, cfg), config: cfg };
      return context;
    },
    database: () => opened,
    emit(doc) {
      run.printed = true;
      process.stdout.write(`${JSON.stringify(doc)}\n`);
    },
    note(text) {
      process.stderr.write(`${text}\n`);
    },
    onClose(fn) {
      closers.push(fn);
    },
  };
  (run as any).close = async () => {
    for (const fn of closers.reverse()) await fn();
  };
  return run;
}

/** The last error an action threw, for the top-level handler (commander swallows nothing). */
export interface CliKit {
  action<T>(handler: (run: Run, args: string[]) => Promise<T>, present?: Presenter<T>): (...all: any[]) => Promise<void>;
}

export const kit: CliKit = {
  action(handler, present) {
    return async (...all: any[]) => {
      const command = all[all.length - 1] as Command;
      const opts = command.optsWithGlobals();
      const args = all.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a : a === undefined ? [] : [String(a)]));
      const run = createRun(opts);
      try {
        await preloadConfig();
        const data = await handler(run, args);
        if (!run.printed) {
          if (run.json || !present) process.stdout.write(`${JSON.stringify(data, null, run.json ? 2 : 2)}\n`);
          else {
            const text = present(data, run);
            if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
          }
        }
        process.exitCode = run.exitCode;
      } finally {
        await (run as any).close().catch(() => {});
      }
    };
  },
};

/** Prints an error the way the run asked (JSON on stdout with --json) and returns its exit code. */
export function reportError(e: unknown, json: boolean): number {
  const err = toCampaignError(e);
  if (json) {
    const body = err.toJSON();
    if (err.code === 'INTERNAL' && !process.env.CAMPAIGN_DEBUG) delete (body.error.details as any).stack;
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    process.stderr.write(`${paint('red', 'error', process.stderr)} [${err.code}]: ${err.message}\n`);
    if (err.code === 'INTERNAL') {
      process.stderr.write(`This is a bug in campaign. ${process.env.CAMPAIGN_DEBUG ? String(err.details.stack ?? '') : 'Set CAMPAIGN_DEBUG=1 to see the stack.'}\n`);
    }
  }
  return err.exitCode;
}

export function usageError(message: string): CampaignError {
  return new CampaignError('USAGE', message, {});
}

/** Parses a whole positive number flag or argument, naming it on failure. */
export function intArg(value: string | undefined, name: string, options: { min?: number; max?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const min = options.min ?? 0;
  // Plain decimal digits only: Number() would also take "1e20", "0x10" and "" (as 0). Ids and
  // counts above 2^53 cannot be exact in JavaScript, nor stored in a bigint column past 2^63.
  const max = Math.min(options.max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const n = /^\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(`${name} must be a whole number${options.max !== undefined ? ` from ${min} to ${options.max}` : ` of at least ${min}`}; got "${value}"`);
  }
  return n;
}
