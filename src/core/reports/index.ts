// Reports: what `campaign report` and `campaign test report` call.
export { formulaSafe } from './formula-safe.js';
export type { CampaignReportHeader, ReportHeader, ReportTarget, TestRunReportHeader } from './report.repository.js';
export { type ReportSummary, summarizeCounts } from './report-summary.js';
export { CSV_COLUMNS, REPORT_FORMATS, type ReportFormat, type ReportRecipient, type ReportResult, writeReport, type WriteReportOptions } from './write-report.js';
export { type ReportFileResult, writeReportFile } from './write-report-file.js';
export { exportReport, type ExportReportOptions, type ExportReportResult } from './export-report.js';
