// The built CLI on the embedded database from a cold start: nothing configured but a fresh
// CAMPAIGN_HOME. The first command starts and migrates the server; others share it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, tempDir, writeJson } from '../helpers/run-cli.js';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

let home: string;
let env: NodeJS.ProcessEnv;
let dataDir: string | undefined;

beforeAll(() => {
  home = tempDir('campaign-cold-');
  env = cleanEnv({ CAMPAIGN_HOME: home, CAMPAIGN_ACTOR: 'cold-start' });
});
afterAll(async () => {
  await runCli(['db', 'stop'], { env, cwd: home });
  if (dataDir && !dataDir.startsWith(home)) rmSync(dirname(dataDir), { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('embedded database from a cold start', () => {
  it('db status before anything: not initialised, not running, and it starts nothing', async () => {
    const r = await runCli(['db', 'status', '--json'], { env, cwd: home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('"running": false');
    const again = await runCli(['db', 'status', '--json'], { env, cwd: home });
    expect(again.stdout).toContain('"running": false');
  });

  it('the first real command starts, migrates and uses it; two at once share it', async () => {
    const [a, b] = await Promise.all([
      runCli(['settings', 'show', '--json'], { env, cwd: home }),
      runCli(['list', '--json'], { env, cwd: home }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json.settings.daily_limit).toBe(30);
    expect(b.code, b.stderr).toBe(0);
    expect(b.json.campaigns).toEqual([]);
    const file = writeJson(home, 'c.json', { brand: 'vaseline', template: { mode: 'simple', type: 'text', text: 'Hi {{first_name}}' } });
    const created = await runCli(['create', '--file', file, '--json'], { env, cwd: home });
    expect(created.code, created.stderr).toBe(0);
    expect(created.json.campaign.name).toBe('vaseline Campaign Draft');
  });

  it('db status reports where the data is and that it runs', async () => {
    const r = await runCli(['db', 'status', '--json'], { env, cwd: home });
    expect(r.code).toBe(0);
    const text = r.stdout;
    expect(text).toContain('"running": true');
    const m = /"dataDir":\s*"([^"]+)"/.exec(text);
    expect(m).not.toBeNull();
    dataDir = m![1];
  });

  it('finding 6: db status names the 0600 password file and the app role, never a password; db migrate (as the owner) re-grants campaign_app', async () => {
    const file = join(home, 'embedded-auth.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const auth = JSON.parse(readFileSync(file, 'utf8'));
    const r = await runCli(['db', 'status', '--json'], { env, cwd: home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.embedded.passwordFile).toBe(file);
    expect(r.json.url).toMatch(/^postgres:\/\/campaign_app@127\.0\.0\.1:\d+\/campaign$/);
    // promise 7: the role commands run as cannot alter the audit log.
    expect(r.json.roles).toMatchObject({ role: 'campaign_app', superuser: false, auditOwner: 'postgres', canAlterAudit: false, missing: [] });
    const text = await runCli(['db', 'status'], { env, cwd: home });
    expect(text.stdout).toContain(file);
    for (const out of [r.stdout, r.stderr, text.stdout, text.stderr]) {
      expect(out).not.toContain(auth.owner.password);
      expect(out).not.toContain(auth.app.password);
    }
    // A local process without the file cannot get in: no password, or a wrong one, is exit 7 at once.
    const port = new URL(r.json.url).port;
    for (const url of [`postgres://postgres@127.0.0.1:${port}/campaign`, `postgres://campaign_app:wrong@127.0.0.1:${port}/campaign`]) {
      const t0 = Date.now();
      const refused = await runCli(['list', '--json'], { env: { ...env, DATABASE_URL: url }, cwd: home });
      expect(refused.code, refused.stderr).toBe(7);
      expect(refused.json.error).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
      expect(refused.json.error.message).toMatch(/refused the login/);
      expect(Date.now() - t0).toBeLessThan(20_000);
    }
    const migrate = await runCli(['db', 'migrate'], { env, cwd: home });
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain('up to date');
    expect(migrate.stdout).toContain('App role campaign_app');
  });

  it('db stop stops it, and the next command starts it again with the data kept', async () => {
    const stop = await runCli(['db', 'stop', '--json'], { env, cwd: home });
    expect(stop.code, stop.stderr).toBe(0);
    const status = await runCli(['db', 'status', '--json'], { env, cwd: home });
    expect(status.stdout).toContain('"running": false');
    const list = await runCli(['list', '--json'], { env, cwd: home });
    expect(list.code, list.stderr).toBe(0);
    expect(list.json.campaigns.map((c: any) => c.name)).toEqual(['vaseline Campaign Draft']);
  });
});
