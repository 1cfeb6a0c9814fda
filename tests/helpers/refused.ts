// Awaiting a refusal: the promise must reject, and with a CampaignError (whose code, exit code
// and message the test then checks); resolving fails the test.
import { expect } from 'vitest';
import { CampaignError } from '../../src/core/errors.js';

export async function refused(p: Promise<unknown>): Promise<CampaignError> {
  const e = await p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (x) => x,
  );
  expect(e).toBeInstanceOf(CampaignError);
  return e as CampaignError;
}
