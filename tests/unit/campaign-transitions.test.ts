import { describe, expect, it } from 'vitest';
import { assertCanDo, type CampaignAction, canDo } from '../../src/core/campaigns/campaign-transitions.js';
import { CAMPAIGN_STATES, type CampaignState } from '../../src/core/db/schema.js';
import { CampaignError } from '../../src/core/errors.js';

// The full table: every (state, action) pair, so a change to the rules shows up here.
const EXPECTED: Record<CampaignAction, CampaignState[]> = {
  edit: ['DRAFT'],
  approve: ['DRAFT'],
  build_queue: ['APPROVED', 'PAUSED', 'RUNNING'],
  start: ['APPROVED'],
  pause: ['RUNNING'],
  resume: ['PAUSED'],
  cancel: ['DRAFT', 'APPROVED', 'RUNNING', 'PAUSED'],
  complete: ['RUNNING'],
  delete: ['DRAFT'],
  test_run: ['DRAFT', 'APPROVED', 'PAUSED'],
  preview: ['DRAFT', 'APPROVED', 'RUNNING', 'PAUSED'],
};

describe('campaign transitions', () => {
  for (const [action, allowed] of Object.entries(EXPECTED) as Array<[CampaignAction, CampaignState[]]>) {
    for (const state of CAMPAIGN_STATES) {
      it(`${action} from ${state}: ${allowed.includes(state) ? 'allowed' : 'refused'}`, () => {
        expect(canDo(state, action)).toBe(allowed.includes(state));
        if (allowed.includes(state)) expect(() => assertCanDo({ id: 7, status: state }, action)).not.toThrow();
        else {
          try {
            assertCanDo({ id: 7, status: state }, action);
            expect.unreachable();
          } catch (e) {
            expect(e).toBeInstanceOf(CampaignError);
            const err = e as CampaignError;
            expect(err.message).toContain(state);
            expect(err.exitCode).toBe(5);
          }
        }
      });
    }
  }

  it('promise 3: editing approved content is CONTENT_FROZEN and names the way out', () => {
    try {
      assertCanDo({ id: 12, status: 'APPROVED' }, 'edit');
      expect.unreachable();
    } catch (e) {
      expect((e as CampaignError).code).toBe('CONTENT_FROZEN');
      expect((e as CampaignError).message).toContain('approved content is frozen: run `campaign duplicate 12`');
    }
  });
});
