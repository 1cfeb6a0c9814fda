import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActivity } from '../../src/core/audit/audit.repository.js';
import { CampaignError } from '../../src/core/errors.js';
import { DEFAULT_SETTINGS } from '../../src/core/settings/settings.schema.js';
import { applyPreset, parseAssignments, showSettings, updateSettings } from '../../src/core/settings/settings.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

describe('settings in the database', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => t.drop());

  it('shows the defaults before anything is set', async () => {
    const v = await showSettings(t.ctx());
    expect(v.settings).toEqual(DEFAULT_SETTINGS);
    expect(v.changed).toEqual([]);
  });

  it('sets values, audits before and after', async () => {
    const r = await updateSettings(t.ctx({ actor: 'alice' }), parseAssignments(['daily_limit=60', 'hourly_limit=18', 'timezone=Africa/Lubumbashi']));
    expect(r.settings.daily_limit).toBe(60);
    expect(r.changes.map((c) => c.key).sort()).toEqual(['daily_limit', 'hourly_limit', 'timezone']);
    const [audit] = await listActivity(t.db, { action: 'settings.update' });
    expect(audit!.actor).toBe('alice');
    expect(audit!.details).toMatchObject({ before: { daily_limit: 30, hourly_limit: 25 }, after: { daily_limit: 60, hourly_limit: 18 } });
  });

  it('rejects a rule break with the key named and writes nothing', async () => {
    const before = await showSettings(t.ctx());
    const auditBefore = (await listActivity(t.db)).length;
    for (const pairs of [
      ['sending_window_start=18:00', 'sending_window_end=09:00'],
      ['delay_min_seconds=300'],
      ['pause_min_minutes=50'],
      ['sending_days=0,1'],
      ['sending_days='],
      ['daily_limit=0'],
      ['hourly_limit=61'],
      ['timezone=Mars/Base'],
      // a valid change together with an invalid one: all or nothing
      ['daily_limit=90', 'hourly_limit=200'],
    ]) {
      const err = await updateSettings(t.ctx(), parseAssignments(pairs)).catch((e) => e);
      expect(err, pairs.join(' ')).toBeInstanceOf(CampaignError);
      expect(err.code).toBe('SETTINGS_INVALID');
      expect(err.exitCode).toBe(3);
    }
    expect(() => parseAssignments(['frequency_cap=3'])).toThrow(/did you mean frequency_cap_days/);
    expect(await showSettings(t.ctx())).toEqual(before);
    expect((await listActivity(t.db)).length).toBe(auditBefore);
  });

  it('applies presets', async () => {
    const r = await applyPreset(t.ctx(), 'cold');
    expect(r.preset).toBe('cold');
    expect(r.settings).toMatchObject({ daily_limit: 30, hourly_limit: 12, delay_min_seconds: 60, delay_max_seconds: 180 });
    const warm = await applyPreset(t.ctx(), 'warm');
    expect(warm.settings).toMatchObject({ daily_limit: 100, hourly_limit: 25, delay_min_seconds: 45, delay_max_seconds: 120 });
    await expect(applyPreset(t.ctx(), 'hot')).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('a change to the same value is not a change', async () => {
    const v = await showSettings(t.ctx());
    const r = await updateSettings(t.ctx(), { daily_limit: v.settings.daily_limit });
    expect(r.changes).toEqual([]);
  });
});
