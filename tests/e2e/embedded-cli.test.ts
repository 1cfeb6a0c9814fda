// The built CLI on the embedded database from a cold start: nothing configured but a fresh
// CAMPAIGN_HOME. The first command starts and migrates the server; others share it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, tempDir, writeJson } from '../helpers/run-cli.js';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';

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
