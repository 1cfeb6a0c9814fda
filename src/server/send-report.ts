// report.csv / report.json: the same writer as `campaign report`, streamed into the response
// page by page (constant memory whatever the number of recipients). The target is looked up
// first so a wrong id is a clean 404, not a broken download.
import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { getReportHeader } from '../core/reports/report.repository.js';
import { type ReportFormat, type ReportTarget, writeReport } from '../core/reports/index.js';

export async function sendReport(req: FastifyRequest, reply: FastifyReply, target: ReportTarget, format: ReportFormat): Promise<FastifyReply> {
  const header = await getReportHeader(req.ctx.db, target);
  const id = header.kind === 'campaign' ? header.campaign.id : header.testRun.id;
  const name = header.kind === 'campaign' ? `campaign-${id}-report` : `test-run-${id}-report`;
  const out = new PassThrough();
  reply
    .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.${format}"`)
    .header('cache-control', 'no-store');
  writeReport(req.ctx, target, { format, out }).then(
    () => out.end(),
    (e) => {
      // Headers are gone by now: the only honest signal left is a cut-off body.
      req.log.error({ err: e }, 'report stream failed');
      out.destroy(e as Error);
    },
  );
  return reply.send(out);
}
