// `campaign report <campaign> [--format csv|json] [--out file]`: the per-recipient report. On
// stdout by default (the report itself is the output); with --out it is written atomically and
// the command prints what it wrote.
import type { Command } from 'commander';
import { z } from 'zod';
import { CampaignError } from '../core/errors.js';
import { exportReport, type ExportReportResult, REPORT_FORMATS, type ReportFormat, type ReportTarget } from '../core/reports/index.js';
import type { CliKit, Run } from './kit.js';
import { keyValue } from './render.js';

const formatSchema = z.enum(['csv', 'json']);

/** --json alone means a JSON report; --json with csv on stdout would break "stdout is one JSON document". */
export function reportFormat(run: Run): ReportFormat {
  const given = run.opts.format as string | undefined;
  if (given === undefined) return run.json ? 'json' : 'csv';
  const parsed = formatSchema.safeParse(given.toLowerCase());
  if (!parsed.success) throw new CampaignError('USAGE', `--format must be ${REPORT_FORMATS.join(' or ')}; got "${given}".`, { format: given });
  if (parsed.data === 'csv' && run.json && run.opts.out === undefined) {
    throw new CampaignError('USAGE', '--json prints JSON on stdout: use --format json, or --out <file> to write the CSV to a file.', {});
  }
  return parsed.data;
}

/** Shared with `campaign test report <run>`: same flags, same output. */
export async function runReport(run: Run, target: ReportTarget): Promise<ExportReportResult> {
  const format = reportFormat(run);
  const out = run.opts.out as string | undefined;
  if (out !== undefined && out.trim() === '') throw new CampaignError('USAGE', '--out needs a file path.', {});
  const ctx = await run.ctx();
  const result = await exportReport(ctx, target, { format, outPath: out, stream: process.stdout });
  if (out === undefined) run.printed = true;
  return result;
}

export function presentReport(r: ExportReportResult): string {
  const s = r.summary;
  const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);
  const states = Object.entries(s.byStatus).filter(([, n]) => n > 0);
  return keyValue([
    ['wrote', `${r.out} (${r.format}, ${r.rows} recipients)`],
    [r.kind === 'campaign' ? 'campaign' : 'test run', `${r.id} "${r.name}"`],
    ['by status', states.map(([k, n]) => `${k} ${n}`).join(', ') || '—'],
    ['delivered / sent', pct(s.rates.deliveredOfSent)],
    ['read / sent', pct(s.rates.readOfSent)],
    ['failed / total', pct(s.rates.failedOfTotal)],
  ]);
}

export function register(program: Command, k: CliKit): void {
  program
    .command('report')
    .description('Per-recipient report of a campaign as CSV or JSON, with counts and rates')
    .argument('<campaign>', 'id or name')
    .option('--format <format>', 'csv or json (default csv; json with --json)')
    .option('--out <file>', 'write to this file (atomically) instead of stdout')
    .action(k.action(async (run, [ref]) => runReport(run, { campaignId: ref! }), presentReport));
}
