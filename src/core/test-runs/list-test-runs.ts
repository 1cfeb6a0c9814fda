// `campaign test list [--campaign]`: newest first, each with its counts by state.
import { getCampaignId } from '../campaigns/campaign.repository.js';
import type { Context } from '../context.js';
import type { RecipientState, TestRunState } from '../db/schema.js';
import { countRecipientsByState, listTestRunRows } from './test-run.repository.js';

export interface TestRunListItem {
  id: number;
  campaignId: number;
  campaignName: string;
  testListName: string;
  session: string;
  status: TestRunState;
  pauseReason: string | null;
  createdAt: string;
  createdBy: string | null;
  total: number;
  counts: Partial<Record<RecipientState, number>>;
}

export async function listTestRuns(ctx: Context, filter: { campaign?: string; limit?: number } = {}): Promise<{ testRuns: TestRunListItem[] }> {
  const campaignId = filter.campaign !== undefined ? await getCampaignId(ctx.db, filter.campaign) : undefined;
  const runs = await listTestRunRows(ctx.db, { campaignId, limit: filter.limit });
  const counts = await countRecipientsByState(ctx.db, runs.map((r) => r.id));
  return {
    testRuns: runs.map((r) => {
      const c = counts.get(r.id) ?? {};
      return {
        id: r.id,
        campaignId: r.campaignId,
        campaignName: r.campaignName,
        testListName: r.testListName,
        session: r.session,
        status: r.status,
        pauseReason: r.pauseReason,
        createdAt: r.createdAt,
        createdBy: r.createdBy,
        total: Object.values(c).reduce((a, b) => a + (b ?? 0), 0),
        counts: c,
      };
    }),
  };
}
