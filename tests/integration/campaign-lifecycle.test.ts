// The campaign lifecycle up to approval on real Postgres, with its audit trail.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActivity } from '../../src/core/audit/audit.repository.js';
import {
  applyCampaign,
  approveCampaign,
  archiveCampaign,
  createCampaign,
  deleteCampaign,
  duplicateCampaign,
  editCampaign,
  listCampaigns,
  showCampaign,
} from '../../src/core/campaigns/campaign.service.js';
import { CampaignError } from '../../src/core/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const text = (t: string) => ({ mode: 'simple', type: 'text', text: t });

describe('campaign lifecycle', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => t.drop());

  it('creates a draft with the default name "<brand> Campaign Draft" and numbers clashes', async () => {
    const a = await createCampaign(t.ctx(), { brand: 'vaseline', template: text('Hi {{first_name}}') });
    expect(a.campaign).toMatchObject({ name: 'vaseline Campaign Draft', status: 'DRAFT', messageType: 'text', session: 'default', contentFrozen: false });
    const b = await createCampaign(t.ctx(), { brand: 'vaseline', template: text('Hello') });
    expect(b.campaign.name).toBe('vaseline Campaign Draft (2)');
  });

  it('rejects a bad file naming the field, writing nothing', async () => {
    const before = await t.db.selectFrom('campaigns').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const auditBefore = (await listActivity(t.db)).length;
    const cases: Array<[unknown, RegExp]> = [
      [{ template: text('x') }, /brand/],
      [{ brand: 'b', template: text('x'), colour: 'red' }, /colour: is not a known field/],
      [{ brand: 'b', session: 'bad session!', template: text('x') }, /session/],
      [{ brand: 'b', template: { type: 'button' } }, /buttons/],
      [{ brand: 'b', template: text('Hi {{frist_name}}') }, /first_name/],
      [{ brand: 'b', template: text('x'), mediaAssetId: 999 }, /media asset/i],
    ];
    for (const [input, re] of cases) {
      const err = await createCampaign(t.ctx(), input).catch((e) => e);
      expect(err, JSON.stringify(input)).toBeInstanceOf(CampaignError);
      expect(err.message).toMatch(re);
    }
    const after = await t.db.selectFrom('campaigns').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
    expect((await listActivity(t.db)).length).toBe(auditBefore);
  });

  it('apply is idempotent: created, unchanged, updated', async () => {
    const file = { name: 'CI promo', brand: 'lifebuoy', template: text('Hi {{first_name}} from {{brand}}') };
    const first = await applyCampaign(t.ctx(), file);
    expect(first.action).toBe('created');
    const auditAfterFirst = (await listActivity(t.db, { campaignId: first.campaign.id })).length;
    const second = await applyCampaign(t.ctx(), file);
    expect(second.action).toBe('unchanged');
    expect(second.campaign.id).toBe(first.campaign.id);
    expect((await listActivity(t.db, { campaignId: first.campaign.id })).length).toBe(auditAfterFirst);
    const third = await applyCampaign(t.ctx(), { ...file, template: text('Changed {{first_name}}') });
    expect(third.action).toBe('updated');
    expect(third.campaign.id).toBe(first.campaign.id);
    expect(third.campaign.contentHash).not.toBe(first.campaign.contentHash);
  });

  it('concurrent applies of one file make one draft', async () => {
    const file = { name: 'Race', brand: 'pepsodent', template: text('Hi') };
    const results = await Promise.all([1, 2, 3, 4].map(() => applyCampaign(t.ctx(), file)));
    expect(new Set(results.map((r) => r.campaign.id)).size).toBe(1);
    expect(results.filter((r) => r.action === 'created')).toHaveLength(1);
  });

  it('promise 3: approval records who, when and a hash, and freezes content', async () => {
    const { campaign } = await createCampaign(t.ctx(), { name: 'Freeze me', brand: 'vaseline', template: text('Hi {{first_name}}') });
    await editCampaign(t.ctx(), String(campaign.id), { name: 'Freeze me', brand: 'vaseline', template: text('Edited {{first_name}}') });
    const approved = await approveCampaign(t.ctx({ actor: 'lead' }), String(campaign.id));
    expect(approved).toMatchObject({ status: 'APPROVED', approvedBy: 'lead', contentFrozen: true });
    expect(approved.approvedContentHash).toBe(approved.contentHash);
    const err = await editCampaign(t.ctx(), String(campaign.id), { brand: 'vaseline', template: text('Sneaky') }).catch((e) => e);
    expect(err).toMatchObject({ code: 'CONTENT_FROZEN' });
    expect(err.message).toContain(`campaign duplicate ${campaign.id}`);
    const row = await showCampaign(t.ctx(), String(campaign.id));
    expect(row.template).toEqual(text('Edited {{first_name}}'));
    await expect(approveCampaign(t.ctx(), String(campaign.id))).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    const apply = await applyCampaign(t.ctx(), { name: 'Freeze me', brand: 'vaseline', template: text('Other') }).catch((e) => e);
    expect(apply).toMatchObject({ code: 'CONTENT_FROZEN' });
    const same = await applyCampaign(t.ctx(), { name: 'Freeze me', brand: 'vaseline', template: text('Edited {{first_name}}') });
    expect(same.action).toBe('unchanged');
  });

  it('duplicate makes a new editable draft', async () => {
    const { campaign } = await createCampaign(t.ctx(), { name: 'Original', brand: 'vaseline', template: text('Hi') });
    await approveCampaign(t.ctx(), 'Original');
    const copy = await duplicateCampaign(t.ctx(), String(campaign.id));
    expect(copy).toMatchObject({ name: 'Original (copy)', status: 'DRAFT', contentFrozen: false, duplicatedFrom: campaign.id });
    const copy2 = await duplicateCampaign(t.ctx(), String(campaign.id));
    expect(copy2.name).toBe('Original (copy) (2)');
    await editCampaign(t.ctx(), String(copy.id), { brand: 'vaseline', template: text('New words') });
  });

  it('archive hides from list; delete only removes empty drafts', async () => {
    const { campaign } = await createCampaign(t.ctx(), { name: 'Temp', brand: 'b', template: text('x') });
    await archiveCampaign(t.ctx(), String(campaign.id));
    const live = await listCampaigns(t.ctx(), {});
    expect(live.campaigns.map((c) => c.id)).not.toContain(campaign.id);
    const archived = await listCampaigns(t.ctx(), { archived: true });
    expect(archived.campaigns.map((c) => c.id)).toContain(campaign.id);

    const { campaign: d } = await createCampaign(t.ctx(), { name: 'Delete me', brand: 'b', template: text('x') });
    await sql`insert into campaign_test_runs (campaign_id, test_list_name, waha_session, template_json, content_hash) values (${d.id}, 'l', 'default', '{}', 'h')`.execute(t.db);
    await expect(deleteCampaign(t.ctx(), String(d.id))).rejects.toMatchObject({ code: 'IN_USE' });
    const { campaign: e } = await createCampaign(t.ctx(), { name: 'Empty', brand: 'b', template: text('x') });
    const r = await deleteCampaign(t.ctx(), 'Empty');
    expect(r.deleted.id).toBe(e.id);
    await expect(showCampaign(t.ctx(), String(e.id))).rejects.toMatchObject({ code: 'CAMPAIGN_NOT_FOUND' });
    const approved = await createCampaign(t.ctx(), { name: 'Approved one', brand: 'b', template: text('x') });
    await approveCampaign(t.ctx(), 'Approved one');
    await expect(deleteCampaign(t.ctx(), String(approved.campaign.id))).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
  });

  it('list filters by status and search; not found suggests a name', async () => {
    const approved = await listCampaigns(t.ctx(), { status: ['APPROVED'] });
    expect(approved.campaigns.every((c) => c.status === 'APPROVED')).toBe(true);
    const search = await listCampaigns(t.ctx(), { search: 'lifebuoy' });
    expect(search.campaigns.every((c) => c.brand === 'lifebuoy' || c.name.includes('lifebuoy'))).toBe(true);
    const err = await showCampaign(t.ctx(), 'Orignal').catch((e) => e);
    expect(err.code).toBe('CAMPAIGN_NOT_FOUND');
    expect(err.message).toContain('did you mean "Original"');
  });

  it('every mutation wrote one audit row with the actor', async () => {
    const actions = (await listActivity(t.db, { limit: 1000 })).map((a) => a.action);
    for (const a of ['campaign.create', 'campaign.update', 'campaign.apply', 'campaign.approve', 'campaign.duplicate', 'campaign.archive', 'campaign.delete']) {
      expect(actions).toContain(a);
    }
    const approvals = await listActivity(t.db, { action: 'campaign.approve' });
    expect(approvals.map((a) => a.actor)).toContain('lead');
  });
});
