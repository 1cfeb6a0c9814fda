// The built CLI for the Media Gallery and reports: `media upload|list|show|rm` and
// `report --format --out`, spawned as a user runs them, checking --json stdout and exit codes.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, type CliResult, runCli, tempDir } from '../helpers/run-cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let t: TestDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: dir });

function expectError(r: CliResult, code: string, exit: number): void {
  expect(r.code, r.stdout + r.stderr).toBe(exit);
  expect(r.json?.error?.code, r.stdout).toBe(code);
  expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
}

beforeAll(async () => {
  t = await createTestDatabase();
  dir = tempDir();
  env = cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir, MEDIA_DIR: join(dir, 'media'), CAMPAIGN_ACTOR: 'ci-bot' });
});
afterAll(async () => t.drop());

describe('campaign media', () => {
  let pdfId: number;

  it('upload detects the kind from the content (a PDF named .jpg is a document) and stores it under MEDIA_DIR', async () => {
    writeFileSync(join(dir, 'flyer.jpg'), Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(500, 0x41)]));
    const r = await cli('media', 'upload', 'flyer.jpg', '--name', 'March flyer', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ created: true, asset: { name: 'March flyer', kind: 'document', mimetype: 'application/pdf', createdBy: 'ci-bot' } });
    pdfId = r.json.asset.id;
    expect(r.json.asset.reference).toBe(`media-asset://${pdfId}`);
    expect(readdirSync(join(dir, 'media'))).toEqual([`${r.json.asset.sha256}.pdf`]);

    const again = await cli('media', 'upload', 'flyer.jpg', '--json');
    expect(again.json).toMatchObject({ created: false, asset: { id: pdfId } });

    const table = await cli('media', 'upload', 'flyer.jpg');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('already in the gallery');
  });

  it('upload over the limit exits 3 naming the limit; a missing file exits 3', async () => {
    const big = join(dir, 'big.png');
    writeFileSync(big, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(5 * 1024 * 1024)]));
    const r = await cli('media', 'upload', big, '--json');
    expectError(r, 'PAYLOAD_TOO_LARGE', 3);
    expect(r.json.error.message).toContain('5 MB limit for image files');
    expectError(await cli('media', 'upload', 'nope.png', '--json'), 'FILE_UNREADABLE', 3);
  });

  it('list and show', async () => {
    const list = await cli('media', 'list', '--json');
    expect(list.code).toBe(0);
    expect(list.json.assets.map((a: { id: number }) => a.id)).toEqual([pdfId]);
    const show = await cli('media', 'show', String(pdfId), '--json');
    expect(show.json).toMatchObject({ asset: { id: pdfId }, sendFilename: 'flyer.pdf', file: { present: true }, publicUrl: null, usedBy: [] });
    expectError(await cli('media', 'show', '999', '--json'), 'MEDIA_NOT_FOUND', 4);
    expectError(await cli('media', 'show', 'abc', '--json'), 'USAGE', 2);
    expectError(await cli('media', 'show', '99999999999999999999', '--json'), 'USAGE', 2);
    expectError(await cli('media', 'list', '--kind', 'gif', '--json'), 'USAGE', 2);
  });

  it('rm is refused (exit 5) while a campaign uses the asset, then works once it does not', async () => {
    const c = await t.db
      .insertInto('campaigns')
      .values({
        name: 'Flyer campaign',
        brand: 'vaseline',
        waha_session: 'default',
        template_mode: 'advanced',
        template_json: JSON.stringify({ endpoint: '/api/sendFile', payload: { file: { url: `media-asset://${pdfId}` } } }),
        message_type: 'file',
        content_hash: 'h',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const refused = await cli('media', 'rm', String(pdfId), '--json');
    expectError(refused, 'IN_USE', 5);
    expect(refused.json.error.message).toContain('"Flyer campaign"');
    await t.db.deleteFrom('campaigns').where('id', '=', c.id).execute();
    const ok = await cli('media', 'rm', String(pdfId), '--json');
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.json).toMatchObject({ deleted: { id: pdfId }, fileRemoved: true });
    expect(readdirSync(join(dir, 'media'))).toEqual([]);
  });
});

describe('campaign report', () => {
  let campaignId: number;

  beforeAll(async () => {
    const c = await t.db
      .insertInto('campaigns')
      .values({
        name: 'Report me',
        brand: 'vaseline',
        waha_session: 'default',
        status: 'COMPLETED',
        template_mode: 'simple',
        template_json: JSON.stringify({ type: 'text', text: 'hi' }),
        message_type: 'text',
        content_hash: 'h',
        approved_content_hash: 'h',
        approved_at: new Date(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    campaignId = c.id;
    const names = ['Amani', '=1+2', 'Chantal'];
    for (let i = 0; i < names.length; i++) {
      const chat = `24381000000${i}@c.us`;
      const contact = await t.db
        .insertInto('contacts')
        .values({ crm_id: `r${i}`, name: names[i]!, chat_id: chat, phone_valid: true, registered_brands: ['vaseline'] })
        .returning('id')
        .executeTakeFirstOrThrow();
      await t.db
        .insertInto('send_queue')
        .values({
          campaign_id: campaignId,
          contact_id: contact.id,
          chat_id: chat,
          status: (['READ', 'DELIVERED', 'FAILED'] as const)[i]!,
          message_type: 'text',
          endpoint: '/api/sendText',
          rendered_payload: JSON.stringify({ chatId: chat, text: `Hello ${names[i]}` }),
          last_error: i === 2 ? 'session not found' : null,
        })
        .execute();
    }
  });

  it('prints CSV on stdout by default, formula cells neutralised, summary at the end', async () => {
    const r = await cli('report', 'Report me');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^id,name,chat_id,message_type,endpoint,/);
    expect(lines[2]).toContain(",'=1+2,");
    expect(r.stdout).toContain('delivered_of_sent,1');
    expect(r.stdout).toContain('failed_of_total,0.3333');
  });

  it('--json prints the JSON report as the one document on stdout', async () => {
    const r = await cli('report', String(campaignId), '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.campaign).toMatchObject({ id: campaignId, name: 'Report me' });
    expect(r.json.summary).toMatchObject({ total: 3, sent: 2, failed: 1 });
    expect(r.json.recipients.map((x: { status: string }) => x.status)).toEqual(['READ', 'DELIVERED', 'FAILED']);
    expectError(await cli('report', String(campaignId), '--format', 'csv', '--json'), 'USAGE', 2);
    expectError(await cli('report', String(campaignId), '--format', 'xml', '--json'), 'USAGE', 2);
  });

  it('--out writes the file atomically and prints what it wrote', async () => {
    const out = join(dir, 'report.json');
    const r = await cli('report', 'Report me', '--format', 'json', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ out, rows: 3, format: 'json', kind: 'campaign', summary: { total: 3 } });
    expect(JSON.parse(readFileSync(out, 'utf8')).recipients).toHaveLength(3);
    const table = await cli('report', 'Report me', '--out', join(dir, 'report.csv'));
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('wrote');
    expect(readFileSync(join(dir, 'report.csv'), 'utf8')).toMatch(/^id,name,/);
  });

  it('a failed export leaves no file: unknown campaign exits 4, unwritable --out exits 3', async () => {
    const out = join(dir, 'missing.csv');
    expectError(await cli('report', 'No such campaign', '--out', out, '--json'), 'CAMPAIGN_NOT_FOUND', 4);
    expect(existsSync(out)).toBe(false);
    const noDir = await cli('report', 'Report me', '--out', join(dir, 'no', 'dir', 'x.csv'), '--json');
    expectError(noDir, 'FILE_UNREADABLE', 3);
    expect(noDir.json.error.message).toContain(`the folder ${join(dir, 'no', 'dir')} does not exist`);
    const isDir = await cli('report', 'Report me', '--out', dir, '--json');
    expectError(isDir, 'FILE_UNREADABLE', 3);
    expect(isDir.json.error.message).toContain('it is a directory: give a file name inside it');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
