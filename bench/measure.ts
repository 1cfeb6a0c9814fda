// Shared pieces of the benches: the Figure every bench returns, timing a child process, and
// summary statistics. Benches print figures; they never fail on time.
import { spawn } from 'node:child_process';

/** One measured value. A ratio is always against a baseline measured in the same run. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** value / baseline.value; filled in by `figure()` and by the runner when missing. */
  ratio?: number;
  note?: string;
}

export interface BenchContext {
  /** Samples per measured command (default 15, `--runs N`). */
  runs: number;
  /** Progress for a person watching; goes to stderr so `--json` stdout stays clean. */
  progress(message: string): void;
}

export interface Bench {
  title: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}

/** Thrown by a bench that cannot run here (a missing module or tool): printed, not an error. */
export class BenchSkipped extends Error {
  override name = 'BenchSkipped';
}

export function figure(name: string, value: number, unit: string, baseline?: { name: string; value: number }, note?: string): Figure {
  const f: Figure = { name, value, unit };
  if (baseline) {
    f.baseline = baseline;
    if (baseline.value > 0 && Number.isFinite(baseline.value)) f.ratio = value / baseline.value;
  }
  if (note) f.note = note;
  return f;
}

/** Nearest-rank percentile (p in 0..100) of the samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(samples: number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Summary {
  median: number;
  p90: number;
  samples: number[];
}

export function summarize(samples: number[]): Summary {
  return { median: median(samples), p90: percentile(samples, 90), samples };
}

export interface ProcessRun {
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and times it from spawn to exit, in milliseconds. */
export function timeProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, code, signal, stdout, stderr });
    });
  });
}

/** Like timeProcess, but a non-zero exit is an error naming the command and its stderr. */
export async function timeOk(label: string, command: string, args: string[], options: Parameters<typeof timeProcess>[2] = {}): Promise<ProcessRun> {
  const r = await timeProcess(command, args, options);
  if (r.code !== 0) {
    const why = (r.stderr.trim() || r.stdout.trim() || `signal ${r.signal ?? 'none'}`).split('\n').slice(0, 6).join(' | ');
    throw new Error(`${label} exited with ${r.code ?? r.signal}: ${why}`);
  }
  return r;
}

/** `runs` timed runs of the same command, each required to succeed. */
export async function sampleProcess(label: string, runs: number, command: string, args: string[], options: Parameters<typeof timeProcess>[2] = {}): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push((await timeOk(label, command, args, options)).ms);
  return summarize(samples);
}
