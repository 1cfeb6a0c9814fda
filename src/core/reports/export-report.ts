// The one call behind `campaign report <campaign>` and `campaign test report <run>`: to a file
// (atomically, see write-report-file.ts) when a path is given, else to the caller's stream.
import type { Writable } from 'node:stream';
import type { Context } from '../context.js';
import type { ReportTarget } from './report.repository.js';
import { writeReportFile } from './write-report-file.js';
import { type ReportFormat, type ReportResult, writeReport } from './write-report.js';

export interface ExportReportOptions {
  format: ReportFormat;
  /** Write here (temp file + rename); when absent the report goes to `stream`. */
  outPath?: string;
  /** Where the report goes without `outPath` (the CLI passes stdout). */
  stream?: Writable;
  pageSize?: number;
}

export interface ExportReportResult extends ReportResult {
  /** The file written, or null when the report went to the stream. */
  out: string | null;
}

export async function exportReport(ctx: Context, target: ReportTarget, options: ExportReportOptions): Promise<ExportReportResult> {
  if (options.outPath !== undefined) return writeReportFile(ctx, target, { format: options.format, path: options.outPath, pageSize: options.pageSize });
  if (!options.stream) throw new TypeError('exportReport needs outPath or stream');
  const result = await writeReport(ctx, target, { format: options.format, out: options.stream, pageSize: options.pageSize });
  return { ...result, out: null };
}
