// The built CLI, spawned in a temp directory against a real database: --json output and the
// exit code of a success and of each error kind.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, type CliResult, runCli, tempDir, writeJson } from '../helpers/run-cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let t: TestDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: dir });

beforeAll(async () => {
  t = await createTestDatabase();
  dir = tempDir();
  env = cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir, CAMPAIGN_ACTOR: 'ci-bot' });
});
afterAll(async () => t.drop());

function expectError(r: CliResult, code: string, exit: number): void {
  expect(r.code, r.stdout + r.stderr).toBe(exit);
  expect(r.json?.error?.code, r.stdout).toBe(code);
  expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
}

describe('campaign CLI', () => {
  it('--help lists every command and the exit codes, without a database', async () => {
    const r = await runCli(['--help'], { env: cleanEnv({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }), cwd: dir });
    expect(r.code).toBe(0);
    for (const c of ['config', 'db', 'settings', 'templates', 'create', 'apply', 'approve', 'audit']) expect(r.stdout).toContain(c);
    expect(r.stdout).toContain('Exit codes:');
    expect(r.stdout).toContain('CONTENT_FROZEN');
  });

  it('settings show --json prints exactly one JSON document', async () => {
    const r = await cli('settings', 'show', '--json');
    expect(r.code).toBe(0);
    expect(r.json.settings.daily_limit).toBe(30);
    expect(r.json.settings.timezone).toBe('Africa/Kinshasa');
  });

  it('settings set: success, then a rule break exits 3 and changes nothing', async () => {
    const ok = await cli('settings', 'set', 'daily_limit=60', 'hourly_limit=18', '--json');
    expect(ok.code).toBe(0);
    expect(ok.json.settings.daily_limit).toBe(60);
    const bad = await cli('settings', 'set', 'delay_min_seconds=500', '--json');
    expectError(bad, 'SETTINGS_INVALID', 3);
    expect(bad.json.error.message).toContain('delay_min_seconds');
    const unknown = await cli('settings', 'set', 'dayly_limit=5', '--json');
    expectError(unknown, 'SETTINGS_INVALID', 3);
    expect(unknown.json.error.message).toContain('did you mean daily_limit');
    const after = await cli('settings', 'show', '--json');
    expect(after.json.settings.delay_min_seconds).toBe(45);
  });

  it('settings preset cold', async () => {
    const r = await cli('settings', 'preset', 'cold', '--json');
    expect(r.code).toBe(0);
    expect(r.json.settings).toMatchObject({ daily_limit: 30, hourly_limit: 12 });
  });

  it('scripts a campaign from JSON: create, apply twice, approve, frozen edit, duplicate', async () => {
    const file = writeJson(dir, 'promo.json', { name: 'Promo', brand: 'vaseline', template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } });
    const created = await cli('apply', '--file', file, '--json');
    expect(created.code, created.stderr).toBe(0);
    expect(created.json.action).toBe('created');
    const id = created.json.campaign.id;
    const again = await cli('apply', '--file', file, '--json');
    expect(again.json.action).toBe('unchanged');
    const approved = await cli('approve', String(id), '--json');
    expect(approved.code).toBe(0);
    expect(approved.json.campaign).toMatchObject({ status: 'APPROVED', approvedBy: 'ci-bot', contentFrozen: true });
    const frozen = await cli('edit', String(id), '--file', file, '--json');
    expectError(frozen, 'CONTENT_FROZEN', 5);
    expect(frozen.json.error.message).toContain(`campaign duplicate ${id}`);
    const dup = await cli('duplicate', String(id), '--json');
    expect(dup.code).toBe(0);
    expect(dup.json.campaign.status).toBe('DRAFT');
    const list = await cli('list', '--json');
    expect(list.json.campaigns.map((c: any) => c.name)).toEqual(expect.arrayContaining(['Promo', 'Promo (copy)']));
    const audit = await cli('audit', '--campaign', String(id), '--json');
    expect(audit.json.activity.map((a: any) => a.action)).toEqual(expect.arrayContaining(['campaign.create', 'campaign.approve']));
    expect(audit.json.activity.every((a: any) => a.actor === 'ci-bot')).toBe(true);
  });

  it('human output is a table and goes to stdout; no colour without a TTY', async () => {
    const r = await cli('list');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Promo');
    expect(r.stdout).toMatch(/[┌│─]/);
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('each error kind has its exit code and a JSON error', async () => {
    expectError(await cli('show', '99999', '--json'), 'CAMPAIGN_NOT_FOUND', 4);
    expectError(await cli('create', '--file', 'missing.json', '--json'), 'FILE_UNREADABLE', 3);
    const broken = writeJson(dir, 'broken.json', '{"brand": "x",');
    const b = await cli('create', '--file', broken, '--json');
    expectError(b, 'FILE_UNREADABLE', 3);
    const invalid = writeJson(dir, 'invalid.json', { brand: 'x', template: { endpoint: '/api/deleteSession' } });
    const inv = await cli('create', '--file', invalid, '--json');
    expectError(inv, 'TEMPLATE_INVALID', 3);
    expect(inv.json.error.message).toContain('endpoint');
    expectError(await cli('create', '--json'), 'USAGE', 2);
    expectError(await cli('approvee', '1', '--json'), 'USAGE', 2);
    const badDb = await runCli(['settings', 'show', '--json'], { env: cleanEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', CAMPAIGN_HOME: dir }), cwd: dir });
    expectError(badDb, 'DATABASE_UNAVAILABLE', 7);
    const badEnv = await runCli(['settings', 'show', '--json'], { env: cleanEnv({ DATABASE_URL: 'mysql://x', CAMPAIGN_HOME: dir }), cwd: dir });
    expectError(badEnv, 'CONFIG_INVALID', 6);
    expect(badEnv.json.error.message).toContain('DATABASE_URL');
  });

  it('a database that refuses us is exit 7, not a bug: no such database, unknown role, migrate on a dead server', async () => {
    const base = new URL(t.url);
    const withUrl = (url: string, ...args: string[]) => runCli(args, { env: cleanEnv({ DATABASE_URL: url, CAMPAIGN_HOME: dir }), cwd: dir });
    const noDb = new URL(base.href);
    noDb.pathname = '/campaign_sweep_no_such_db';
    const missing = await withUrl(noDb.href, 'list', '--json');
    expectError(missing, 'DATABASE_UNAVAILABLE', 7);
    expect(missing.json.error.message).toMatch(/does not exist.*createdb.*campaign db migrate/);
    expectError(await withUrl(noDb.href, 'db', 'migrate', '--json'), 'DATABASE_UNAVAILABLE', 7);
    const noRole = new URL(base.href);
    noRole.username = 'campaign_sweep_no_such_role';
    noRole.password = '';
    const refused = await withUrl(noRole.href, 'list', '--json');
    expectError(refused, 'DATABASE_UNAVAILABLE', 7);
    expect(refused.json.error.message).toMatch(/refused the login.*DATABASE_URL/);
    const dead = await withUrl('postgres://postgres@127.0.0.1:1/none', 'db', 'migrate', '--json');
    expectError(dead, 'DATABASE_UNAVAILABLE', 7);
  });

  it('ids past any bigint are not found (exit 4) or a usage error (exit 2), never a crash', async () => {
    const huge = '99999999999999999999';
    for (const args of [['show', huge], ['report', huge], ['forecast', huge], ['audit', '--campaign', huge]]) {
      expectError(await cli(...args, '--json'), 'CAMPAIGN_NOT_FOUND', 4);
    }
    for (const args of [['logs', '--test-run', huge], ['test', 'list', '--limit', huge], ['resolve', '1', '--skip', '--ids', huge], ['templates', 'validate', 'text_basic', '--media', huge]]) {
      expectError(await cli(...args, '--json'), 'USAGE', 2);
    }
    const since = await cli('logs', '--since', '99999999d', '--json');
    expectError(since, 'USAGE', 2);
    expect(since.json.error.message).toContain('--since');
  });

  it('campaign files: wrong types are named as wrong types, not as missing; empty files and directories say so', async () => {
    const wrong = writeJson(dir, 'wrong-types.json', { name: 5, brand: 7, template: 'text' });
    const r = await cli('create', '--file', wrong, '--json');
    expectError(r, 'VALIDATION_FAILED', 3);
    expect(r.json.error.message).toContain('brand: must be text');
    expect(r.json.error.message).toContain('name: must be text');
    expect(r.json.error.message).toContain('template: must be a JSON object');
    expect(r.json.error.message).not.toContain('is required');
    const list = await cli('create', '--file', writeJson(dir, 'array.json', []), '--json');
    expectError(list, 'VALIDATION_FAILED', 3);
    expect(list.json.error.message).toContain('must be one JSON object');
    const empty = await cli('create', '--file', writeJson(dir, 'empty.json', ''), '--json');
    expectError(empty, 'FILE_UNREADABLE', 3);
    expect(empty.json.error.message).toContain('empty.json is empty');
    mkdirSync(join(dir, 'folder'), { recursive: true });
    const folder = await cli('templates', 'validate', 'folder', '--json');
    expectError(folder, 'FILE_UNREADABLE', 3);
    expect(folder.json.error.message).toContain('it is a directory');
    const sample = await cli('templates', 'show', 'pol', '--json');
    expectError(sample, 'TEMPLATE_NOT_FOUND', 4);
    expect(sample.json.error.message).toContain('(did you mean poll?)');
  });

  it('starting a cancelled draft says it was cancelled and how to go on, not that it has run', async () => {
    const file = writeJson(dir, 'cancelled.json', { name: 'Never sent', brand: 'vaseline', template: { mode: 'simple', type: 'text', text: 'Hi' } });
    const id = (await cli('create', '--file', file, '--json')).json.campaign.id;
    expect((await cli('cancel', String(id), '--json')).code).toBe(0);
    const r = await cli('start', String(id), '--json');
    expectError(r, 'INVALID_TRANSITION', 5);
    expect(r.json.error.message).toContain(`it was cancelled; run \`campaign duplicate ${id}\``);
    expect(r.json.error.message).not.toContain('already run');
  });

  it('--help marks the required flags', async () => {
    const r = await cli('create', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--file <path>\s+required:/);
  });

  it('a human error is one line on stderr, no stack trace', async () => {
    const r = await cli('show', 'nope');
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error \[CAMPAIGN_NOT_FOUND\]: /);
    expect(r.stderr).not.toContain('    at ');
  });

  it('config masks secrets and says what the missing ones block', async () => {
    const r = await runCli(['config', '--json'], { env: cleanEnv({ DATABASE_URL: 'postgres://u:hunter2@db:5432/c', WAHA_API_KEY: 'supersecretkey', CAMPAIGN_HOME: dir }), cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hunter2');
    expect(r.stdout).not.toContain('supersecretkey');
    const missing = r.json.missing.map((m: any) => m.name);
    expect(missing).toContain('SUPABASE_URL');
    expect(r.json.missing.find((m: any) => m.name === 'DASHBOARD_API_TOKEN').neededBy).toContain('serve');
  });

  it('reads .env from the working directory; the environment wins', async () => {
    const d = tempDir();
    writeJson(d, '.env', `WAHA_BASE_URL=http://from-dotenv:3000\nSUPABASE_URL=https://dotenv.supabase.co\n`);
    const r = await runCli(['config', '--json'], { env: cleanEnv({ SUPABASE_URL: 'https://env.supabase.co', CAMPAIGN_HOME: d }), cwd: d });
    const byName = Object.fromEntries(r.json.variables.map((v: any) => [v.name, v]));
    expect(byName.WAHA_BASE_URL).toMatchObject({ value: 'http://from-dotenv:3000', source: '.env' });
    expect(byName.SUPABASE_URL).toMatchObject({ value: 'https://env.supabase.co', source: 'env' });
  });
});
