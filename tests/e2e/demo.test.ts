// `campaign demo` on a fresh machine: nothing configured but a new CAMPAIGN_HOME. It must start the
// embedded database, its own sandbox and the real worker, and finish a test run it can report.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli, tempDir } from '../helpers/run-cli.js';

const home = tempDir('campaign-demo-');
const env = cleanEnv({ CAMPAIGN_HOME: home });

afterAll(async () => {
  // As root the embedded cluster lives outside the home (see embedded.ts): remove it too.
  const status = await runCli(['db', 'status', '--json'], { env, cwd: home });
  const dataDir = /"dataDir":\s*"([^"]+)"/.exec(status.stdout)?.[1];
  await runCli(['db', 'stop'], { env, cwd: home });
  if (dataDir && !dataDir.startsWith(home)) rmSync(dirname(dataDir), { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('campaign demo', () => {
  it('runs the whole flow with nothing configured: test users, list, campaign, worker-sent test run, report', async () => {
    const r = await runCli(['demo', '--recipients', '3', '--json'], { env, cwd: home, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.status).toBe('COMPLETED');
    expect(r.json.summary).toMatchObject({ total: 3, sent: 3, failed: 0 });
    // The sandbox's signed receipts reached the in-process server: delivered and read.
    expect(r.json.summary.read).toBe(3);
    expect(r.json.recipients.every((x: any) => x.status === 'READ')).toBe(true);
    expect(r.json.recipients.every((x: any) => /^3EB0/.test(x.wahaMessageId))).toBe(true);
    // Labelled: the operator sees the profile is a demo one.
    expect(r.stderr).toContain('DEMO PROFILE');
  }, 150_000);

  it('leaves the real settings alone (the demo has its own database)', async () => {
    const r = await runCli(['settings', 'show', '--json'], { env, cwd: home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.settings.delay_min_seconds).toBe(45);
    const list = await runCli(['list', '--json'], { env, cwd: home });
    expect(list.json.campaigns).toEqual([]);
  });
});
