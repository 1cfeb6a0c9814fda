// Reports on real Postgres: every column of the CSV and JSON, the summary and its rates from the
// same rows, cells that would run as spreadsheet formulas neutralised, pages of any size giving
// the same report, backpressure honoured, and --out that never leaves a partial file.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvLine } from '../../src/core/reports/csv-line.js';
import { CSV_COLUMNS, exportReport, formulaSafe, writeReport, writeReportFile } from '../../src/core/reports/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/** RFC 4180 parser, enough for the reports: quoted cells, doubled quotes, newlines inside quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (ch !== '\r') cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

class Sink extends Writable {
  chunks: string[] = [];
  drains = 0;
  constructor(private delayMs = 0) {
    super({ highWaterMark: 64 });
    this.on('drain', () => this.drains++);
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    if (this.delayMs) setTimeout(done, this.delayMs);
    else setImmediate(done);
  }
  get text(): string {
    return this.chunks.join('');
  }
}

const LONG_TEXT = `Hello  Amani,\nyour   order is ready. ${'x'.repeat(100)}`;
const T0 = new Date('2026-03-02T09:00:00.000Z');
const at = (min: number) => new Date(T0.getTime() + min * 60_000);

describe('reports', () => {
  let t: TestDatabase;
  let campaignId: number;
  let emptyCampaignId: number;
  let testRunId: number;
  let outDir: string;

  async function contact(name: string, n: number): Promise<number> {
    const chat = `2438100000${String(n).padStart(2, '0')}@c.us`;
    const r = await t.db
      .insertInto('contacts')
      .values({ crm_id: `crm-${n}`, name, first_name: name, phone_raw: `+${chat.split('@')[0]}`, chat_id: chat, phone_valid: true, registered_brands: ['vaseline'] })
      .returning('id')
      .executeTakeFirstOrThrow();
    return r.id;
  }

  async function campaign(name: string, status: 'RUNNING' | 'COMPLETED'): Promise<number> {
    const r = await t.db
      .insertInto('campaigns')
      .values({
        name,
        brand: 'vaseline',
        waha_session: 'default',
        status,
        template_mode: 'simple',
        template_json: JSON.stringify({ type: 'text', text: 'hi' }),
        message_type: 'text',
        content_hash: 'h',
        approved_content_hash: 'h',
        approved_at: T0,
        content_frozen_at: T0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return r.id;
  }

  type Row = Record<string, unknown> & { status: string; payload: Record<string, unknown> };
  async function queue(cid: number, contactId: number, n: number, r: Row): Promise<void> {
    const { payload, ...rest } = r;
    await t.db
      .insertInto('send_queue')
      .values({
        campaign_id: cid,
        contact_id: contactId,
        chat_id: `2438100000${String(n).padStart(2, '0')}@c.us`,
        message_type: 'text',
        endpoint: '/api/sendText',
        rendered_payload: JSON.stringify(payload),
        ...(rest as object),
      } as never)
      .execute();
  }

  beforeAll(async () => {
    t = await createTestDatabase();
    outDir = mkdtempSync(join(tmpdir(), 'campaign-report-'));
    campaignId = await campaign('March promo', 'COMPLETED');
    emptyCampaignId = await campaign('Nobody yet', 'RUNNING');
    const other = await campaign('Other campaign', 'RUNNING');
    const names = ['Amani Kabila', '=HYPERLINK("http://evil.example","click")', 'Chantal', 'Didier', '@Eve', '\tFiston', 'Grace', 'Other person'];
    const ids: number[] = [];
    for (let i = 0; i < names.length; i++) ids.push(await contact(names[i]!, i + 1));
    await queue(campaignId, ids[0]!, 1, {
      status: 'READ',
      attempts: 1,
      waha_message_id: 'true_243810000001@c.us_3EB0AAA',
      claimed_at: at(0),
      sent_at: at(1),
      delivered_at: at(2),
      read_at: at(3),
      payload: { chatId: '243810000001@c.us', text: LONG_TEXT },
    });
    await queue(campaignId, ids[1]!, 2, {
      status: 'DELIVERED',
      message_type: 'image',
      endpoint: '/api/sendImage',
      attempts: 1,
      sent_at: at(4),
      delivered_at: at(5),
      payload: { chatId: '243810000002@c.us', caption: '+243 call us now', file: { url: 'media-asset://7', filename: 'promo.jpg' } },
    });
    await queue(campaignId, ids[2]!, 3, {
      status: 'FAILED',
      message_type: 'file',
      endpoint: '/api/sendFile',
      attempts: 3,
      failed_at: at(6),
      last_error: '-400 Bad Request: chatId is not valid',
      payload: { chatId: '243810000003@c.us', file: { url: 'media-asset://8', filename: 'catalogue.pdf' } },
    });
    await queue(campaignId, ids[3]!, 4, {
      status: 'SENT_API_ACCEPTED',
      message_type: 'buttons',
      endpoint: '/api/sendButtons',
      fallback_endpoint: '/api/sendText',
      fallback_payload: JSON.stringify({ chatId: '243810000004@c.us', text: 'fallback text' }),
      used_fallback: true,
      attempts: 1,
      sent_at: at(7),
      waha_message_id: 'ABCDEF',
      payload: { chatId: '243810000004@c.us', body: 'Pick one', buttons: [{ type: 'reply', text: 'Yes' }] },
    });
    await queue(campaignId, ids[4]!, 5, { status: 'PENDING', message_type: 'poll', endpoint: '/api/sendPoll', payload: { poll: { name: 'Which scent?', options: ['a', 'b'] } } });
    await queue(campaignId, ids[5]!, 6, { status: 'SKIPPED', skip_reason: 'opted_out', payload: { text: '\tTabbed text' } });
    await queue(campaignId, ids[6]!, 7, { status: 'UNKNOWN', attempts: 1, claimed_at: at(9), last_error: 'timeout after the request left', payload: { text: 'Grace hi' } });
    await queue(other, ids[7]!, 8, { status: 'READ', payload: { text: 'not in this report' } });

    const run = await t.db
      .insertInto('campaign_test_runs')
      .values({ campaign_id: campaignId, test_list_name: 'QA team', waha_session: 'default', status: 'COMPLETED', template_json: JSON.stringify({}), content_hash: 'h' })
      .returning('id')
      .executeTakeFirstOrThrow();
    testRunId = run.id;
    await t.db
      .insertInto('campaign_test_run_recipients')
      .values([
        { test_run_id: testRunId, name: 'Tester One', chat_id: '919876543210@c.us', status: 'READ', message_type: 'text', endpoint: '/api/sendText', rendered_payload: JSON.stringify({ text: 'test hi' }), sent_at: at(1), read_at: at(2) },
        { test_run_id: testRunId, name: '-Tester Two', chat_id: '919876543211@c.us', status: 'FAILED', message_type: 'text', endpoint: '/api/sendText', rendered_payload: JSON.stringify({ text: 'test hi' }), last_error: 'session not working' },
      ])
      .execute();
  });
  afterAll(async () => {
    await t.drop();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('formulaSafe prefixes a quote to cells starting with = + - @ tab or CR, and nothing else', () => {
    expect(['=1+1', '+1', '-1', '@a', '\tx', '\rx'].map(formulaSafe)).toEqual(["'=1+1", "'+1", "'-1", "'@a", "'\tx", "'\rx"]);
    expect(['', 'Amani', '243810000001@c.us', ' =x', "'already"].map(formulaSafe)).toEqual(['', 'Amani', '243810000001@c.us', ' =x', "'already"]);
  });

  it('csvLine quotes cells with quotes, commas and line breaks (RFC 4180)', () => {
    expect(csvLine(['a', 'b c', 'x,y', 'say "hi"', 'two\nlines', 'cr\r', ''])).toBe('a,b c,"x,y","say ""hi""","two\nlines","cr\r",\n');
    expect(parseCsv(csvLine(['x,y', 'say "hi"', 'two\nlines']))).toEqual([['x,y', 'say "hi"', 'two\nlines']]);
  });

  describe('CSV', () => {
    let rows: string[][];
    let sections: string[][][];

    beforeAll(async () => {
      const sink = new Sink();
      const r = await writeReport(t.ctx(), { campaignId: String(campaignId) }, { format: 'csv', out: sink });
      expect(r).toMatchObject({ kind: 'campaign', id: campaignId, name: 'March promo', format: 'csv', rows: 7 });
      rows = parseCsv(sink.text);
      const blank = rows.findIndex((r) => r.length === 1 && r[0] === '');
      sections = [rows.slice(0, blank), rows.slice(blank + 1)];
    });

    it('has a header and one row per recipient of this campaign only, in queue order', () => {
      const [table] = sections;
      expect(table![0]).toEqual([...CSV_COLUMNS]);
      expect(table!.length).toBe(8);
      expect(table!.slice(1).map((r) => r[2])).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => `2438100000${String(n).padStart(2, '0')}@c.us`));
    });

    it('carries every column: name, chat id, type, endpoint, status, attempts, WAHA id, error, times, payload summary', () => {
      const byCol = (r: string[]) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, r[i]]));
      const [, read, delivered, failed, fallback, pending, skipped, unknown] = sections[0]!.map(byCol);
      expect(read).toMatchObject({
        name: 'Amani Kabila',
        message_type: 'text',
        endpoint: '/api/sendText',
        used_fallback: 'false',
        status: 'READ',
        attempts: '1',
        waha_message_id: 'true_243810000001@c.us_3EB0AAA',
        error: '',
        claimed_at: '2026-03-02T09:00:00.000Z',
        sent_at: '2026-03-02T09:01:00.000Z',
        delivered_at: '2026-03-02T09:02:00.000Z',
        read_at: '2026-03-02T09:03:00.000Z',
        failed_at: '',
      });
      // first 80 characters, whitespace folded
      expect(read!.payload_summary).toBe(LONG_TEXT.replace(/\s+/g, ' ').slice(0, 80));
      expect(delivered).toMatchObject({ message_type: 'image', endpoint: '/api/sendImage', status: 'DELIVERED' });
      expect(failed).toMatchObject({ status: 'FAILED', attempts: '3', failed_at: '2026-03-02T09:06:00.000Z', payload_summary: 'catalogue.pdf' });
      // promise 3: the fallback is what went out, so it is the endpoint and the message reported
      // (the buttons body 'Pick one' never reached the phone)
      expect(fallback).toMatchObject({ endpoint: '/api/sendText', used_fallback: 'true', status: 'SENT_API_ACCEPTED', payload_summary: 'fallback text', waha_message_id: 'ABCDEF' });
      expect(pending).toMatchObject({ status: 'PENDING', payload_summary: 'Which scent?', attempts: '0' });
      expect(skipped).toMatchObject({ status: 'SKIPPED', error: 'opted_out' });
      expect(unknown).toMatchObject({ status: 'UNKNOWN', error: 'timeout after the request left', claimed_at: '2026-03-02T09:09:00.000Z', sent_at: '' });
    });

    it('neutralises cells a spreadsheet would run as formulas', () => {
      const cells = sections[0]!.slice(1);
      expect(cells[1]![1]).toBe(`'=HYPERLINK("http://evil.example","click")`);
      expect(cells[1]![15]).toBe("'+243 call us now");
      expect(cells[2]![9]).toBe("'-400 Bad Request: chatId is not valid");
      expect(cells[4]![1]).toBe("'@Eve");
      expect(cells[5]![1]).toBe("'\tFiston");
      // no cell anywhere starts with a formula character
      for (const row of rows) for (const c of row) expect(c).not.toMatch(/^[=+\-@\t\r]/);
    });

    it('ends with the summary: counts by status and rates', () => {
      const summary = Object.fromEntries(sections[1]!.filter((r) => r.length === 2).map(([k, v]) => [k, v]));
      expect(summary).toMatchObject({
        metric: 'value',
        total: '7',
        status_READ: '1',
        status_DELIVERED: '1',
        status_SENT_API_ACCEPTED: '1',
        status_FAILED: '1',
        status_PENDING: '1',
        status_SKIPPED: '1',
        status_UNKNOWN: '1',
        status_SENDING: '0',
        sent: '3',
        delivered: '2',
        read: '1',
        failed: '1',
        delivered_of_sent: '0.6667',
        read_of_sent: '0.3333',
        failed_of_total: '0.1429',
      });
    });
  });

  describe('JSON', () => {
    it('is one document {campaign, summary, recipients} with the same rows and counts', async () => {
      const sink = new Sink();
      await writeReport(t.ctx(), { campaignId: 'March promo' }, { format: 'json', out: sink });
      const doc = JSON.parse(sink.text);
      expect(Object.keys(doc)).toEqual(['campaign', 'generatedAt', 'summary', 'recipients']);
      expect(doc.campaign).toMatchObject({ id: campaignId, name: 'March promo', status: 'COMPLETED', brand: 'vaseline' });
      expect(doc.summary).toMatchObject({ total: 7, sent: 3, delivered: 2, read: 1, failed: 1, rates: { deliveredOfSent: 0.6667, readOfSent: 0.3333, failedOfTotal: 0.1429 } });
      expect(doc.recipients).toHaveLength(7);
      expect(doc.recipients[0]).toEqual({
        id: expect.any(Number),
        name: 'Amani Kabila',
        chatId: '243810000001@c.us',
        messageType: 'text',
        endpoint: '/api/sendText',
        usedFallback: false,
        status: 'READ',
        attempts: 1,
        wahaMessageId: 'true_243810000001@c.us_3EB0AAA',
        error: null,
        claimedAt: '2026-03-02T09:00:00.000Z',
        sentAt: '2026-03-02T09:01:00.000Z',
        deliveredAt: '2026-03-02T09:02:00.000Z',
        readAt: '2026-03-02T09:03:00.000Z',
        failedAt: null,
        payloadSummary: LONG_TEXT.replace(/\s+/g, ' ').slice(0, 80),
      });
      // promise 3: the same rule in JSON: the fallback row reports what left
      expect(doc.recipients[3]).toMatchObject({ endpoint: '/api/sendText', usedFallback: true, payloadSummary: 'fallback text' });
      // JSON is data, not a spreadsheet: values stay exactly as stored
      expect(doc.recipients[1].name).toBe('=HYPERLINK("http://evil.example","click")');
    });

    it('an empty campaign is still a valid document', async () => {
      const sink = new Sink();
      const r = await writeReport(t.ctx(), { campaignId: emptyCampaignId }, { format: 'json', out: sink });
      expect(r.rows).toBe(0);
      const doc = JSON.parse(sink.text);
      expect(doc.recipients).toEqual([]);
      expect(doc.summary).toMatchObject({ total: 0, rates: { deliveredOfSent: null, readOfSent: null, failedOfTotal: null } });
    });

    it('a test run report has the test run header and its recipients', async () => {
      const sink = new Sink();
      const r = await writeReport(t.ctx(), { testRunId }, { format: 'json', out: sink });
      expect(r).toMatchObject({ kind: 'testRun', id: testRunId, rows: 2 });
      const doc = JSON.parse(sink.text);
      expect(doc.testRun).toMatchObject({ id: testRunId, campaignId, campaignName: 'March promo', testListName: 'QA team', status: 'COMPLETED' });
      expect(doc.recipients.map((x: { name: string; status: string }) => [x.name, x.status])).toEqual([
        ['Tester One', 'READ'],
        ['-Tester Two', 'FAILED'],
      ]);
      const csv = new Sink();
      await writeReport(t.ctx(), { testRunId }, { format: 'csv', out: csv });
      expect(parseCsv(csv.text)[2]![1]).toBe("'-Tester Two");
    });
  });

  it('pages of any size give the same report, and a slow reader gets all of it (backpressure)', async () => {
    const whole = new Sink();
    await writeReport(t.ctx(), { campaignId }, { format: 'csv', out: whole });
    for (const pageSize of [1, 2, 3, 7, 100]) {
      const paged = new Sink(1);
      await writeReport(t.ctx(), { campaignId }, { format: 'csv', out: paged, pageSize });
      expect(paged.text).toBe(whole.text);
      expect(paged.drains).toBeGreaterThan(0);
    }
    const a = new Sink();
    const b = new Sink();
    await writeReport(t.ctx(), { campaignId }, { format: 'json', out: a, pageSize: 2 });
    await writeReport(t.ctx(), { campaignId }, { format: 'json', out: b });
    expect(JSON.parse(a.text).recipients).toEqual(JSON.parse(b.text).recipients);
  });

  it('unknown campaign or test run: not found, nothing written', async () => {
    const sink = new Sink();
    await expect(writeReport(t.ctx(), { campaignId: 'no such campaign' }, { format: 'csv', out: sink })).rejects.toMatchObject({ code: 'CAMPAIGN_NOT_FOUND' });
    await expect(writeReport(t.ctx(), { testRunId: 999999 }, { format: 'json', out: sink })).rejects.toMatchObject({ code: 'TEST_RUN_NOT_FOUND' });
    expect(sink.text).toBe('');
  });

  describe('--out file', () => {
    it('writes the complete report and leaves no temp file', async () => {
      const path = join(outDir, 'march.csv');
      const r = await writeReportFile(t.ctx(), { campaignId }, { format: 'csv', path });
      expect(r).toMatchObject({ out: path, rows: 7, format: 'csv' });
      const sink = new Sink();
      await writeReport(t.ctx(), { campaignId }, { format: 'csv', out: sink });
      expect(readFileSync(path, 'utf8')).toBe(sink.text);
      expect(readdirSync(outDir)).toEqual(['march.csv']);
      expect(t.pool.totalCount - t.pool.idleCount).toBe(0);
      const viaExport = await exportReport(t.ctx(), { campaignId }, { format: 'json', outPath: join(outDir, 'march.json') });
      expect(JSON.parse(readFileSync(viaExport.out!, 'utf8')).summary.total).toBe(7);
      rmSync(viaExport.out!);
    });

    it('a failure in the middle of the export leaves the previous file untouched and no partial file', async () => {
      const path = join(outDir, 'keep.csv');
      writeFileSync(path, 'OLD REPORT\n');
      // The database fails on the second page of rows, after the first page was written out.
      let pages = 0;
      const failSecondPage: KyselyPlugin = {
        transformQuery(args) {
          const node = args.node as { kind: string; limit?: unknown };
          if (node.kind === 'SelectQueryNode' && node.limit && JSON.stringify(node).includes('"send_queue"') && ++pages === 2) {
            throw new Error('connection terminated unexpectedly');
          }
          return args.node;
        },
        async transformResult(args) {
          return args.result;
        },
      };
      const ctx = t.ctx({ db: t.db.withPlugin(failSecondPage) });
      await expect(writeReportFile(ctx, { campaignId }, { format: 'csv', path, pageSize: 2 })).rejects.toThrow('connection terminated unexpectedly');
      expect(pages).toBe(2);
      expect(readFileSync(path, 'utf8')).toBe('OLD REPORT\n');
      expect(readdirSync(outDir).filter((f) => f.includes('keep'))).toEqual(['keep.csv']);
      expect(readdirSync(outDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(t.pool.totalCount - t.pool.idleCount).toBe(0);
    });

    it('an unknown campaign creates no file', async () => {
      const path = join(outDir, 'never.csv');
      await expect(writeReportFile(t.ctx(), { campaignId: 424242 }, { format: 'csv', path })).rejects.toMatchObject({ code: 'CAMPAIGN_NOT_FOUND' });
      expect(existsSync(path)).toBe(false);
      expect(readdirSync(outDir).filter((f) => f.includes('never'))).toEqual([]);
    });

    it('an unwritable destination is FILE_UNREADABLE before any query', async () => {
      await expect(writeReportFile(t.ctx(), { campaignId }, { format: 'csv', path: join(outDir, 'no', 'such', 'dir.csv') })).rejects.toMatchObject({
        code: 'FILE_UNREADABLE',
      });
    });
  });
});
