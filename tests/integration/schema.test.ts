// Migrations, constraints and promise 7 (the audit log is append-only, enforced by the database).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordActivity } from '../../src/core/audit/audit.repository.js';
import { createDb } from '../../src/core/db/create-db.js';
import { assertSchemaCurrent, latestMigration, migrateToLatest, schemaState } from '../../src/core/db/migrate.js';
import { CampaignError } from '../../src/core/errors.js';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const TABLES = [
  'contacts', 'campaigns', 'send_queue', 'campaign_test_runs', 'campaign_test_run_recipients', 'test_users', 'test_lists',
  'media_assets', 'worker_events', 'message_events', 'settings', 'admin_activity', 'session_pacing', 'worker_heartbeats', 'notifications',
];

describe('migrations', () => {
  it('apply to an empty database, create every table DESIGN.md names, and are idempotent', async () => {
    const empty = await createEmptyDatabase();
    const h = createDb(empty.url, { max: 2 });
    try {
      await expect(assertSchemaCurrent(h.db)).rejects.toMatchObject({ code: 'SCHEMA_OUT_OF_DATE' });
      const before = await schemaState(h.db);
      expect(before.pending).toContain(latestMigration());
      const first = await migrateToLatest(h.db);
      expect(first.applied).toContain('0001_initial');
      const again = await migrateToLatest(h.db);
      expect(again.alreadyUpToDate).toBe(true);
      await assertSchemaCurrent(h.db);
      const rows = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public'`.execute(h.db);
      const names = rows.rows.map((r) => r.table_name);
      for (const t of TABLES) expect(names).toContain(t);
    } finally {
      await h.db.destroy();
      await empty.drop();
    }
  });

  it('a command on an out-of-date schema refuses with what to run', async () => {
    const empty = await createEmptyDatabase();
    const h = createDb(empty.url, { max: 1 });
    try {
      const err = await assertSchemaCurrent(h.db).catch((e) => e);
      expect(err).toBeInstanceOf(CampaignError);
      expect(err.message).toContain('campaign db migrate');
      expect(err.exitCode).toBe(7);
    } finally {
      await h.db.destroy();
      await empty.drop();
    }
  });
});

describe('constraints', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => t.drop());

  it('rejects states outside the design', async () => {
    await expect(
      sql`insert into campaigns (name, brand, status, template_mode, template_json, message_type, content_hash) values ('x','b','LAUNCHED','simple','{}','text','h')`.execute(t.db),
    ).rejects.toThrow(/check constraint/);
  });

  it('promise 2: send_queue holds one row per (campaign, contact) and per (campaign, chat)', async () => {
    const c = await sql<{ id: number }>`insert into campaigns (name, brand, template_mode, template_json, message_type, content_hash) values ('q','b','simple','{}','text','h') returning id`.execute(t.db);
    const k = await sql<{ id: number }>`insert into contacts (crm_id, chat_id, phone_valid) values ('u1','243812345678@c.us', true), ('u2','243812345678@c.us', true) returning id`.execute(t.db);
    const [campaignId, a, b] = [c.rows[0]!.id, k.rows[0]!.id, k.rows[1]!.id];
    const insert = (contact: number, chat: string) =>
      sql`insert into send_queue (campaign_id, contact_id, chat_id, message_type, endpoint, rendered_payload) values (${campaignId}, ${contact}, ${chat}, 'text', '/api/sendText', '{}')`.execute(t.db);
    await insert(a, '243812345678@c.us');
    await expect(insert(a, '243899999999@c.us')).rejects.toThrow(/duplicate key/);
    await expect(insert(b, '243812345678@c.us')).rejects.toThrow(/duplicate key/);
  });
});

describe('promise 7: the admin activity log is append-only', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
    await recordActivity(t.db, { actor: 'ops', action: 'test.write', summary: 'one row' });
  });
  afterAll(async () => t.drop());

  it('rejects UPDATE', async () => {
    await expect(sql`update admin_activity set summary = 'changed'`.execute(t.db)).rejects.toThrow(/append-only/);
  });
  it('rejects DELETE', async () => {
    await expect(sql`delete from admin_activity`.execute(t.db)).rejects.toThrow(/append-only/);
  });
  it('rejects TRUNCATE', async () => {
    await expect(sql`truncate admin_activity`.execute(t.db)).rejects.toThrow(/append-only/);
  });
  it('keeps the row', async () => {
    const rows = await t.db.selectFrom('admin_activity').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.summary).toBe('one row');
  });
  it('never stores a secret in details or summary', async () => {
    const config = { ...t.ctx().config, wahaApiKey: 'waha-secret-123456' };
    await recordActivity(
      t.db,
      { actor: 'ops', action: 'test.secret', summary: 'key waha-secret-123456 used', details: { token: 'abc', nested: { apiKey: 'x', note: 'waha-secret-123456' } } },
      config,
    );
    const row = await t.db.selectFrom('admin_activity').selectAll().where('action', '=', 'test.secret').executeTakeFirstOrThrow();
    const text = JSON.stringify(row);
    expect(text).not.toContain('waha-secret-123456');
    expect((row.details as any).token).toBe('[redacted]');
    expect((row.details as any).nested.apiKey).toBe('[redacted]');
  });
});
