// The per-recipient report of a campaign or a test run, written to a stream as CSV or JSON in
// constant memory: one page of rows at a time, each page written (and drained) before the next
// is read, whatever the number of recipients.
import type { Writable } from 'node:stream';
import type { Context } from '../context.js';
import { CampaignError } from '../errors.js';
import { csvLine } from './csv-line.js';
import { formulaSafe } from './formula-safe.js';
import { countRecipientsByStatus, getReportHeader, type ReportHeader, type ReportRow, reportPage, type ReportTarget } from './report.repository.js';
import { type ReportSummary, summarizeCounts } from './report-summary.js';

export type ReportFormat = 'csv' | 'json';
export const REPORT_FORMATS: readonly ReportFormat[] = ['csv', 'json'];

export interface WriteReportOptions {
  format: ReportFormat;
  out: Writable;
  /** Rows per query; 5000 keeps a page around a megabyte. */
  pageSize?: number;
}

export interface ReportResult {
  kind: ReportHeader['kind'];
  id: number;
  name: string;
  format: ReportFormat;
  rows: number;
  summary: ReportSummary;
}

/** A recipient as the JSON report shows it (the CSV has the same columns, snake_case). */
export interface ReportRecipient {
  id: number;
  name: string | null;
  chatId: string;
  messageType: string;
  endpoint: string;
  usedFallback: boolean;
  status: string;
  attempts: number;
  wahaMessageId: string | null;
  error: string | null;
  claimedAt: string | null;
  sentAt: string | null;
  deliveredAt: string | null;
  readAt: string | null;
  failedAt: string | null;
  payloadSummary: string;
}

export const CSV_COLUMNS = [
  'id',
  'name',
  'chat_id',
  'message_type',
  'endpoint',
  'used_fallback',
  'status',
  'attempts',
  'waha_message_id',
  'error',
  'claimed_at',
  'sent_at',
  'delivered_at',
  'read_at',
  'failed_at',
  'payload_summary',
] as const;

const DEFAULT_PAGE_SIZE = 5000;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function toRecipient(r: ReportRow): ReportRecipient {
  return {
    id: r.id,
    name: r.name,
    chatId: r.chat_id,
    messageType: r.message_type,
    endpoint: r.endpoint,
    usedFallback: r.used_fallback,
    status: r.status,
    attempts: r.attempts,
    wahaMessageId: r.waha_message_id,
    error: r.error,
    claimedAt: iso(r.claimed_at),
    sentAt: iso(r.sent_at),
    deliveredAt: iso(r.delivered_at),
    readAt: iso(r.read_at),
    failedAt: iso(r.failed_at),
    payloadSummary: r.payload_summary,
  };
}

function csvCells(r: ReportRecipient): string[] {
  const text = (v: string | null) => formulaSafe(v ?? '');
  return [
    String(r.id),
    text(r.name),
    text(r.chatId),
    text(r.messageType),
    text(r.endpoint),
    r.usedFallback ? 'true' : 'false',
    r.status,
    String(r.attempts),
    text(r.wahaMessageId),
    text(r.error),
    r.claimedAt ?? '',
    r.sentAt ?? '',
    r.deliveredAt ?? '',
    r.readAt ?? '',
    r.failedAt ?? '',
    text(r.payloadSummary),
  ];
}

/**
 * The CSV ends with the summary as a second small table after a blank line (`metric,value`),
 * so one file answers both "who got it" and "how did it go"; the JSON has it as `summary`.
 */
function csvSummary(s: ReportSummary): string {
  const rows: string[][] = [['metric', 'value'], ['total', String(s.total)]];
  for (const [state, n] of Object.entries(s.byStatus)) rows.push([`status_${state}`, String(n)]);
  rows.push(['sent', String(s.sent)], ['delivered', String(s.delivered)], ['read', String(s.read)], ['failed', String(s.failed)]);
  rows.push(['delivered_of_sent', rateCell(s.rates.deliveredOfSent)], ['read_of_sent', rateCell(s.rates.readOfSent)], ['failed_of_total', rateCell(s.rates.failedOfTotal)]);
  return `\n${rows.map(csvLine).join('')}`;
}

const rateCell = (r: number | null) => (r === null ? '' : String(r));

/** Writes one chunk and waits for the stream to drain when its buffer is full (backpressure). */
async function write(out: Writable, chunk: string, failed: () => Error | undefined): Promise<void> {
  const before = failed();
  if (before) throw before;
  if (out.destroyed || out.writableEnded) throw new CampaignError('FILE_UNREADABLE', 'The report output was closed before the report was complete.', {});
  if (!out.write(chunk)) await drained(out);
  const after = failed();
  if (after) throw after;
}

/** Resolves on 'drain'; a stream that errors or closes instead ends the export rather than hanging it. */
function drained(out: Writable): Promise<void> {
  return new Promise((ok, fail) => {
    const cleanup = () => {
      out.off('drain', onDrain);
      out.off('error', onError);
      out.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      ok();
    };
    const onError = (e: Error) => {
      cleanup();
      fail(e);
    };
    const onClose = () => {
      cleanup();
      fail(new CampaignError('FILE_UNREADABLE', 'The report output was closed before the report was complete.', {}));
    };
    out.once('drain', onDrain);
    out.once('error', onError);
    out.once('close', onClose);
  });
}

/**
 * Every page is read inside one REPEATABLE READ, read-only transaction: the summary and the
 * rows come from the same snapshot, so the counts match the rows even while workers keep sending.
 * The caller owns the stream (this function never ends it: stdout must stay open).
 */
export async function writeReport(ctx: Context, target: ReportTarget, options: WriteReportOptions): Promise<ReportResult> {
  const { format, out } = options;
  if (!REPORT_FORMATS.includes(format)) throw new CampaignError('USAGE', `--format must be csv or json; got "${String(format)}".`, { format });
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  let streamError: Error | undefined;
  const onError = (e: Error) => {
    streamError ??= e;
  };
  out.on('error', onError);
  const failed = () => streamError;
  try {
    return await ctx.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (trx) => {
        const header = await getReportHeader(trx, target);
        const summary = summarizeCounts(await countRecipientsByStatus(trx, header));
        const subject = header.kind === 'campaign' ? header.campaign : header.testRun;
        const name = header.kind === 'campaign' ? header.campaign.name : `${header.testRun.campaignName} / ${header.testRun.testListName}`;

        if (format === 'json') {
          const generatedAt = ctx.clock.now().toISOString();
          await write(out, `{"${header.kind}":${JSON.stringify(subject)},"generatedAt":${JSON.stringify(generatedAt)},"summary":${JSON.stringify(summary)},"recipients":[`, failed);
        } else {
          await write(out, csvLine(CSV_COLUMNS), failed);
        }

        let rows = 0;
        let last = 0;
        for (;;) {
          const page = await reportPage(trx, header, last, pageSize);
          if (page.length === 0) break;
          const recipients = page.map(toRecipient);
          const chunk =
            format === 'json'
              ? recipients.map((r, i) => `${rows + i === 0 ? '' : ','}\n${JSON.stringify(r)}`).join('')
              : recipients.map((r) => csvLine(csvCells(r))).join('');
          await write(out, chunk, failed);
          rows += page.length;
          last = page[page.length - 1]!.id;
          if (page.length < pageSize) break;
        }

        await write(out, format === 'json' ? `${rows > 0 ? '\n' : ''}]}\n` : csvSummary(summary), failed);
        return { kind: header.kind, id: subject.id, name, format, rows, summary };
      });
  } finally {
    out.off('error', onError);
  }
}
