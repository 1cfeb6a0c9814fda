// Queue build on real Postgres: every exclusion reason, one row per chat id, rendered payloads
// frozen into the rows, and a second build that adds only newly eligible contacts.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveCampaign, createCampaign, editCampaign } from '../../src/core/campaigns/campaign.service.js';
import { unsuppressContact } from '../../src/core/contacts/contact.service.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';
import { listExclusions, queueSummary } from '../../src/core/queue/queue-report.js';
import { updateSettings } from '../../src/core/settings/settings.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

interface ContactSeed {
  crm: string;
  name?: string;
  chat?: string | null;
  brands?: string[];
  suppressed?: boolean;
  optedOut?: boolean;
  city?: string | null;
}

// Chat ids are numbered across every seed() call, so contacts imported later never collide by accident.
let seeded = 0;

async function seed(t: TestDatabase, rows: ContactSeed[]): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const r of rows) {
    const chat = r.chat === undefined ? `2438${String(10000000 + seeded++).slice(-8)}@c.us` : r.chat;
    const row = await t.db
      .insertInto('contacts')
      .values({
        crm_id: r.crm,
        name: r.name ?? r.crm,
        first_name: (r.name ?? r.crm).split(' ')[0]!,
        phone_raw: chat ? `+${chat.split('@')[0]}` : 'garbage',
        chat_id: chat,
        phone_valid: chat !== null,
        phone_invalid_reason: chat === null ? 'not a phone number' : null,
        city: r.city ?? 'Kinshasa',
        source: 'store',
        store_id: 'GOM-12',
        brand: (r.brands ?? ['vaseline'])[0]!,
        registered_brands: r.brands ?? ['vaseline'],
        suppressed: r.suppressed ?? false,
        suppressed_reason: r.suppressed ? 'asked by phone' : null,
        opted_out: r.optedOut ?? false,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids[r.crm] = row.id;
  }
  return ids;
}

const template = { mode: 'simple', type: 'text', text: 'Hi {{first_name}} from {{brand}} in {{city}}' };

describe('queue build', () => {
  let t: TestDatabase;
  let campaignId: number;
  let ids: Record<string, number>;

  beforeAll(async () => {
    t = await createTestDatabase();
    ids = await seed(t, [
      { crm: 'ok1', name: 'Amani Kabila' },
      { crm: 'ok2', name: 'Q"uo\'te\\n\nX Ngoy', city: '{{first_name}}' },
      { crm: 'invalid', chat: null },
      { crm: 'suppressed', suppressed: true },
      { crm: 'optout', optedOut: true },
      { crm: 'dupA', chat: '243899000001@c.us' },
      { crm: 'dupB', chat: '243899000001@c.us' },
      { crm: 'otherbrand', brands: ['lifebuoy'] },
      { crm: 'multibrand', brands: ['lifebuoy', 'vaseline'] },
      { crm: 'capped', chat: '243899000002@c.us' },
    ]);
    const c = await createCampaign(t.ctx(), { name: 'Queue me', brand: 'vaseline', template });
    campaignId = c.campaign.id;
  });
  afterAll(async () => t.drop());

  it('refuses a DRAFT: approve first', async () => {
    await expect(buildQueue(t.ctx(), String(campaignId))).rejects.toMatchObject({ code: 'INVALID_TRANSITION', message: expect.stringContaining('campaign approve') });
  });

  it('excludes each kind of contact with its reason and queues the rest once', async () => {
    // "capped" got another campaign's message yesterday; the cap is 3 days.
    const other = await createCampaign(t.ctx(), { name: 'Earlier', brand: 'vaseline', template });
    await sql`insert into send_queue (campaign_id, contact_id, chat_id, status, message_type, endpoint, rendered_payload, sent_at)
              values (${other.campaign.id}, ${ids.capped}, '243899000002@c.us', 'DELIVERED', 'text', '/api/sendText', '{}', ${new Date(t.ctx().clock.now().getTime() - 86_400_000)})`.execute(t.db);
    await updateSettings(t.ctx(), { frequency_cap_days: 3 });
    await approveCampaign(t.ctx(), String(campaignId));

    const r = await buildQueue(t.ctx(), String(campaignId));
    expect(r.candidates).toBe(9);
    expect(r.queued).toBe(4); // ok1, ok2, dupA, multibrand
    expect(r.excluded).toMatchObject({ invalid_phone: 1, suppressed: 1, opted_out: 1, duplicate_chat_id: 1, frequency_cap: 1, already_queued: 0 });

    const rows = await t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', campaignId).orderBy('contact_id').execute();
    expect(rows.map((r) => r.contact_id).sort()).toEqual([ids.ok1, ids.ok2, ids.dupA, ids.multibrand].sort());
    const ex = await listExclusions(t.ctx(), String(campaignId));
    const byContact = Object.fromEntries(ex.exclusions.map((e) => [e.contactId, e.reason]));
    expect(byContact[ids.invalid!]).toBe('invalid_phone');
    expect(byContact[ids.suppressed!]).toBe('suppressed');
    expect(byContact[ids.optout!]).toBe('opted_out');
    expect(byContact[ids.dupB!]).toBe('duplicate_chat_id');
    expect(byContact[ids.capped!]).toBe('frequency_cap');
    expect(byContact[ids.otherbrand!]).toBeUndefined();
  });

  it('promise 3: rows carry the rendered endpoint and payload, values safely escaped', async () => {
    const rows = await t.db.selectFrom('send_queue').selectAll().where('campaign_id', '=', campaignId).execute();
    const ok1 = rows.find((r) => r.contact_id === ids.ok1)!;
    expect(ok1.endpoint).toBe('/api/sendText');
    expect(ok1.status).toBe('PENDING');
    expect(ok1.rendered_payload).toMatchObject({ session: 'default', chatId: ok1.chat_id, text: 'Hi Amani from vaseline in Kinshasa' });
    const ok2 = rows.find((r) => r.contact_id === ids.ok2)!;
    // A quote, an apostrophe, a newline, and a city that looks like a placeholder stay literal text.
    expect((ok2.rendered_payload as any).text).toBe('Hi Q"uo\'te\\n\nX from vaseline in {{first_name}}');
  });

  it('building froze the content', async () => {
    const c = await t.db.selectFrom('campaigns').select(['content_frozen_at', 'queue_built_at']).where('id', '=', campaignId).executeTakeFirstOrThrow();
    expect(c.content_frozen_at).not.toBeNull();
    expect(c.queue_built_at).not.toBeNull();
    await expect(editCampaign(t.ctx(), String(campaignId), { brand: 'vaseline', template })).rejects.toMatchObject({ code: 'CONTENT_FROZEN' });
  });

  it('a second build after new imports adds only newly eligible contacts', async () => {
    const more = await seed(t, [{ crm: 'new1' }, { crm: 'sameChatAsOk1', chat: (await t.db.selectFrom('contacts').select('chat_id').where('id', '=', ids.ok1!).executeTakeFirstOrThrow()).chat_id }]);
    // Lifted the way an operator lifts it (the number's suppression too: promise 4).
    await unsuppressContact(t.ctx(), String(ids.suppressed!), 'resolved');
    const r = await buildQueue(t.ctx(), String(campaignId));
    expect(r.queued).toBe(2); // new1 and the unsuppressed contact
    expect(r.alreadyQueued).toBe(4);
    // sameChatAsOk1 (new, chat already queued) and dupB (its chat went to dupA in the first build)
    expect(r.excluded.already_queued).toBe(2);
    const rows = await t.db.selectFrom('send_queue').select('contact_id').where('campaign_id', '=', campaignId).execute();
    expect(rows.map((x) => x.contact_id)).toContain(more.new1);
    expect(rows.map((x) => x.contact_id)).not.toContain(more.sameChatAsOk1);
    const again = await buildQueue(t.ctx(), String(campaignId));
    expect(again.queued).toBe(0);
    const summary = await queueSummary(t.ctx(), String(campaignId));
    expect(summary.total).toBe(6);
    expect(summary.byState.PENDING).toBe(6);
  });

  it('the campaign list carries each campaign\'s queue progress', async () => {
    const { listCampaigns } = await import('../../src/core/campaigns/campaign.service.js');
    await sql`update send_queue set status = 'READ' where id = (select min(id) from send_queue where campaign_id = ${campaignId})`.execute(t.db);
    const fresh = await createCampaign(t.ctx(), { name: 'No queue yet', brand: 'vaseline', template });
    const list = await listCampaigns(t.ctx(), {});
    expect(list.campaigns.find((c) => c.id === campaignId)!.progress).toEqual({ done: 1, total: 6 });
    expect(list.campaigns.find((c) => c.id === fresh.campaign.id)!.progress).toBeNull();
    await sql`update send_queue set status = 'PENDING' where campaign_id = ${campaignId}`.execute(t.db);
  });

  it('is audited', async () => {
    const rows = await t.db.selectFrom('admin_activity').select(['action', 'campaign_id']).where('action', '=', 'queue.build').execute();
    expect(rows.length).toBe(3);
    expect(rows.every((r) => r.campaign_id === campaignId)).toBe(true);
  });
});

// The import keeps a brand's case ('VASELINE'), and a CRM's brands carry stray spaces and
// full-width letters; the audience filters compare filter keys (audience/filter-key.ts). The queue
// build, the contacts list and the per-brand counts compare with the same rule, on both sides,
// through the SQL twin of filterKey() (migration 0009).
describe('queue build: brands compared on their filter key', () => {
  let t: TestDatabase;
  let ids: Record<string, number>;

  beforeAll(async () => {
    t = await createTestDatabase();
    ids = await seed(t, [
      { crm: 'trailing', brands: ['Vaseline '] },
      { crm: 'upper', brands: ['VASELINE'] },
      { crm: 'wide', brands: ['ＶＡＳＥＬＩＮＥ'] },
      { crm: 'nbsp', brands: ['lifebuoy', '\u00a0vaseline\t'] },
      { crm: 'split', brands: ['Vase line'] },
      { crm: 'other', brands: ['lifebuoy'] },
      { crm: 'upperOptout', brands: ['VASELINE'], optedOut: true },
      { crm: 'upperInvalid', brands: ['Vaseline'], chat: null },
    ]);
  });
  afterAll(async () => t.drop());

  it("a campaign for 'vaseline' queues 'Vaseline ', 'VASELINE' and full-width spellings, not 'Vase line'; exclusions keep their reasons", async () => {
    const c = await createCampaign(t.ctx(), { name: 'Any case', brand: 'vaseline', template });
    await approveCampaign(t.ctx(), String(c.campaign.id));
    const r = await buildQueue(t.ctx(), String(c.campaign.id));
    expect(r.candidates).toBe(6);
    expect(r.queued).toBe(4);
    expect(r.excluded).toMatchObject({ opted_out: 1, invalid_phone: 1 });
    const rows = await t.db.selectFrom('send_queue').select('contact_id').where('campaign_id', '=', c.campaign.id).execute();
    expect(rows.map((x) => x.contact_id).sort()).toEqual([ids.trailing, ids.upper, ids.wide, ids.nbsp].sort());
    const ex = Object.fromEntries((await listExclusions(t.ctx(), String(c.campaign.id))).exclusions.map((e) => [e.contactId, e.reason]));
    expect(ex).toEqual({ [ids.upperOptout!]: 'opted_out', [ids.upperInvalid!]: 'invalid_phone' });
  });

  it('the campaign brand is compared on its key too, and the contacts list filter and per-brand counts use the same rule', async () => {
    const c = await createCampaign(t.ctx(), { name: 'Shouted', brand: ' VaseLine ', template });
    await approveCampaign(t.ctx(), String(c.campaign.id));
    expect((await buildQueue(t.ctx(), String(c.campaign.id))).candidates).toBe(6);
    const { listContactRows, countContactsByBrand } = await import('../../src/core/contacts/contact.repository.js');
    const listed = await listContactRows(t.db, { brand: 'vaseline', limit: 50, offset: 0 });
    expect(listed.contacts.map((x) => x.crmId).sort()).toEqual(['nbsp', 'trailing', 'upper', 'upperInvalid', 'upperOptout', 'wide']);
    expect((await listContactRows(t.db, { brand: 'vase line', limit: 50, offset: 0 })).contacts.map((x) => x.crmId)).toEqual(['split']);
    const counts = await countContactsByBrand(t.db);
    expect(counts.map((b) => [b.brand, b.total])).toEqual([['lifebuoy', 2], ['Vase line', 1], ['VASELINE', 6]]);
  });
});
