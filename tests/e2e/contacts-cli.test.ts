// The built CLI's contacts commands on a real campaign database: --json documents, tables
// without it, exit codes for refusals, and suppression / opt-out stopping unsent rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertContactsPage } from '../../src/core/audience/contact-upsert.js';
import { toContactInput } from '../../src/core/audience/crm-user.js';
import { cleanEnv, type CliResult, runCli, tempDir } from '../helpers/run-cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let t: TestDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[]): Promise<CliResult> => runCli(args, { env, cwd: dir });

beforeAll(async () => {
  t = await createTestDatabase();
  const seed = [
    { id: 1, name: 'Alice Mbuyi', phone: '+243 81 234 5678', registrations: ['vaseline', 'pepsodent'] },
    { id: 2, name: 'Bob Kabila', phone: '0812345679', registrations: ['vaseline'] },
    { id: 3, name: 'Carl', phone: '919876543210', registrations: ['vaseline'] },
  ].map((u) => toContactInput({ ...u, city: 'Goma', source: 'store', store_id: null, brand: null, updated_at: null }));
  await upsertContactsPage(t.db, seed.map((m) => (m.ok ? m.contact : (null as never))), new Date());
  const c = await t.pool.query(
    `insert into campaigns (name, brand, status, template_mode, template_json, message_type, content_hash, approved_content_hash, approved_at)
     values ('Promo', 'vaseline', 'RUNNING', 'simple', '{}', 'text', 'h', 'h', now()) returning id`,
  );
  await t.pool.query(
    `insert into send_queue (campaign_id, contact_id, chat_id, message_type, endpoint, rendered_payload)
     select $1, id, chat_id, 'text', '/api/sendText', '{}' from contacts where phone_valid`,
    [c.rows[0].id],
  );
  dir = tempDir();
  env = cleanEnv({ DATABASE_URL: t.url, CAMPAIGN_HOME: dir, CAMPAIGN_ACTOR: 'ops' });
});
afterAll(async () => {
  await t?.drop();
});

describe('campaign contacts', () => {
  it('list --json with filters; a table without --json', async () => {
    const all = await cli(['contacts', 'list', '--json']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.json.total).toBe(3);
    expect(all.json.contacts.map((c: any) => [c.crmId, c.phoneValid])).toEqual([['1', true], ['2', true], ['3', false]]);
    const invalid = await cli(['contacts', 'list', '--validity', 'invalid', '--json']);
    expect(invalid.json.contacts.map((c: any) => c.name)).toEqual(['Carl']);
    const pep = await cli(['contacts', 'list', '--brand', 'pepsodent', '--search', 'alice', '--json']);
    expect(pep.json.contacts.map((c: any) => c.crmId)).toEqual(['1']);
    const human = await cli(['contacts', 'list']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Alice Mbuyi');
    expect(human.stdout).toMatch(/invalid: not a valid number/);
    const bad = await cli(['contacts', 'list', '--validity', 'maybe', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.json.error.code).toBe('USAGE');
  });

  it('summary --json', async () => {
    const r = await cli(['contacts', 'summary', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ total: 3, validity: { valid: 2, invalid: 1 }, suppressed: 0, optedOut: 0 });
    expect(r.json.brands.map((b: any) => [b.brand, b.total])).toEqual([['pepsodent', 1], ['vaseline', 3]]);
  });

  it('show by phone; unknown exits 4 with CONTACT_NOT_FOUND', async () => {
    const r = await cli(['contacts', 'show', '0812345678', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.contact).toMatchObject({ crmId: '1', chatId: '243812345678@c.us' });
    expect(r.json.queue).toEqual([expect.objectContaining({ campaignName: 'Promo', status: 'PENDING' })]);
    const missing = await cli(['contacts', 'show', '+243899999999', '--json']);
    expect(missing.code).toBe(4);
    expect(missing.json.error.code).toBe('CONTACT_NOT_FOUND');
  });

  it('suppress needs --reason (exit 2); with it the pending row is skipped and the change audited', async () => {
    const noReason = await cli(['contacts', 'suppress', '+243812345679', '--json']);
    expect(noReason.code).toBe(2);
    expect(noReason.json.error.code).toBe('USAGE');
    expect(noReason.json.error.message).toContain('--reason');
    const blank = await cli(['contacts', 'suppress', '+243812345679', '--reason', ' ', '--json']);
    expect(blank.code).toBe(3);
    expect(blank.json.error.code).toBe('VALIDATION_FAILED');
    const r = await cli(['contacts', 'suppress', '+243812345679', '--reason', 'asked by phone', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ action: 'suppress', changed: true, skippedRows: 1, contact: { suppressed: true, suppressedReason: 'asked by phone' } });
    const q = await t.pool.query(`select status, skip_reason from send_queue q join contacts c on c.id = q.contact_id where c.crm_id = '2'`);
    expect(q.rows).toEqual([{ status: 'SKIPPED', skip_reason: 'suppressed' }]);
    const human = await cli(['contacts', 'unsuppress', '+243812345679', '--reason', 'resolved']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^unsuppressed: contact #\d+ Bob Kabila/);
    const audit = await cli(['audit', '--json']);
    expect(audit.json.activity.filter((a: any) => a.action.startsWith('contact.')).map((a: any) => [a.action, a.actor])).toEqual([
      ['contact.unsuppress', 'ops'],
      ['contact.suppress', 'ops'],
    ]);
  });

  it('opt-out and opt-in', async () => {
    const out = await cli(['contacts', 'opt-out', '1', '--json']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.json).toMatchObject({ action: 'opt_out', changed: true, skippedRows: 1, contact: { optedOut: true, optedOutSource: 'operator' } });
    const again = await cli(['contacts', 'opt-out', '1']);
    expect(again.stdout).toMatch(/^nothing to do/);
    const inn = await cli(['contacts', 'opt-in', '#1', '--json']);
    expect(inn.json).toMatchObject({ action: 'opt_in', changed: true, contact: { optedOut: false } });
    const list = await cli(['contacts', 'list', '--opted-out', '--json']);
    expect(list.json.total).toBe(0);
  });
});
