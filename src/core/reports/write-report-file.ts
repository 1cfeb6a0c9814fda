// `--out <file>`: the report goes to a temporary file beside the target and is renamed over it
// only once it is complete and flushed, so a failed export (database gone, disk full, bad
// campaign) never leaves a partial file where a complete one is expected.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Context } from '../context.js';
import { CampaignError } from '../errors.js';
import type { ReportTarget } from './report.repository.js';
import { type ReportFormat, type ReportResult, writeReport } from './write-report.js';

const FILE_SYSCALLS = new Set(['open', 'write', 'writev', 'close', 'fsync', 'rename', 'unlink']);

export interface ReportFileResult extends ReportResult {
  out: string;
}

export async function writeReportFile(ctx: Context, target: ReportTarget, options: { format: ReportFormat; path: string; pageSize?: number }): Promise<ReportFileResult> {
  const path = resolve(options.path);
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(5).toString('hex')}.tmp`);
  const out = createWriteStream(temp, { flags: 'wx' });
  try {
    await once0(out);
    const result = await writeReport(ctx, target, { format: options.format, out, pageSize: options.pageSize });
    out.end();
    await finished(out);
    await rename(temp, path);
    return { ...result, out: path };
  } catch (e) {
    out.destroy();
    await rm(temp, { force: true });
    // Only the file's own failures become FILE_UNREADABLE; database errors pass through as they are.
    const syscall = (e as NodeJS.ErrnoException).syscall;
    if (syscall !== undefined && FILE_SYSCALLS.has(syscall)) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'EISDIR'
          ? `it is a directory: give a file name inside it, for example --out ${join(path, `report.${options.format}`)}`
          : code === 'ENOENT'
            ? `the folder ${dirname(path)} does not exist: create it or choose another --out`
            : code === 'EACCES' || code === 'EPERM'
              ? 'permission denied: choose a folder you can write to'
              : (e as Error).message;
      throw new CampaignError('FILE_UNREADABLE', `Cannot write the report to ${path}: ${why}.`, { path, code });
    }
    throw e;
  }
}

/** Waits until the file is open, so an unwritable --out fails before the database is queried. */
function once0(out: ReturnType<typeof createWriteStream>): Promise<void> {
  return new Promise((ok, fail) => {
    out.once('ready', () => ok());
    out.once('error', fail);
  });
}
