// `campaign test start <campaign> --list <list>`: snapshots the list's active members into
// campaign_test_run_recipients, each with the endpoint and payload rendered for them, and lets the
// worker send them under the session's pacing. The campaign is not touched: a DRAFT stays
// editable, and editing it later never changes a snapshot (promise 3).
import { recordActivity } from '../audit/audit.repository.js';
import { lockCampaign } from '../campaigns/campaign.repository.js';
import { notifyWorkers } from '../campaigns/campaign-control.js';
import type { Context } from '../context.js';
import { assertCanDo } from '../campaigns/campaign-transitions.js';
import { CampaignError } from '../errors.js';
import { getMediaRef } from '../media/media.repository.js';
import { describeBlock, findBlockedNumbers } from '../contacts/number-block.repository.js';
import { compileTemplate } from '../templates/index.js';
import { lockTestList } from '../test-lists/test-list.repository.js';
import { resolveTestList } from '../test-lists/test-list.service.js';
import { type ShowTestRunResult, showTestRunIn } from './show-test-run.js';
import { activeListMembers } from './test-run.repository.js';
import { testUserVars } from './test-user-vars.js';

export interface StartTestRunResult extends ShowTestRunResult {
  warnings: string[];
}

export async function startTestRun(ctx: Context, campaignRef: string, listRef: string): Promise<StartTestRunResult> {
  return ctx.db.transaction().execute(async (trx) => {
    // The campaign row lock keeps an edit from landing between reading the template and
    // recording its hash, so the snapshot and content_hash always describe the same content.
    const campaign = await lockCampaign(trx, campaignRef);
    // The transitions table decides which states may be test-run (one rule for every surface).
    assertCanDo(campaign, 'test_run');
    // The table refuses CANCELLED; archiving is not a state, so it is checked here.
    if (campaign.archived) {
      throw new CampaignError(
        'INVALID_TRANSITION',
        `Campaign ${campaign.id} is archived, so it cannot be test-run: run \`campaign duplicate ${campaign.id}\` for a new draft and test that.`,
        { campaignId: campaign.id, status: campaign.status, archived: campaign.archived },
      );
    }
    const list = await resolveTestList(trx, listRef);
    // Membership changes of this list wait until the snapshot is taken.
    await lockTestList(trx, list.id);
    const members = await activeListMembers(trx, list.id);
    if (members.length === 0) {
      const inactive = list.members;
      throw new CampaignError(
        'TEST_LIST_EMPTY',
        inactive === 0
          ? `Test list "${list.name}" has no members, so there is nobody to send to. Add test users with \`campaign test-lists add "${list.name}" <user...>\`.`
          : `Test list "${list.name}" has ${inactive} member(s) but none is active, so there is nobody to send to. Activate one with \`campaign test-users activate <user>\`.`,
        { testListId: list.id, members: inactive, activeMembers: 0 },
      );
    }

    // promise 4: a test user is the person behind the number. A number that opted out (a STOP, or
    // a contact with that number opted out) or that an operator suppressed (`contacts suppress`
    // binds the number, test users included: a test run is a real send) is not messaged: its row
    // is kept as SKIPPED with the reason, so the run shows who was left out and why. The claim
    // checks the number again right before each send (a block that lands after this snapshot).
    const blocked = await findBlockedNumbers(trx, members.map((m) => m.chatId));
    const blockOf = (chatId: string): 'opted_out' | 'suppressed' | null => {
      const b = blocked.get(chatId);
      return b?.optedOut ? 'opted_out' : b?.suppressed ? 'suppressed' : null;
    };
    const sendable = members.filter((m) => blockOf(m.chatId) === null);
    if (sendable.length === 0) {
      throw new CampaignError(
        'TEST_LIST_EMPTY',
        `Every active member of test list "${list.name}" has a blocked number (${members.map((m) => `${m.name} ${m.chatId}: ${describeBlock(blocked.get(m.chatId)!)}`).join('; ')}), so there is nobody to send to. A number that opted out is lifted when it sends START or by \`campaign contacts opt-in <phone>\`; a suppression by \`campaign contacts unsuppress <phone> --reason ...\`.`,
        { testListId: list.id, activeMembers: members.length, blocked: members.map((m) => ({ testUserId: m.id, chatId: m.chatId, block: blockOf(m.chatId) })) },
      );
    }

    const media = campaign.mediaAssetId !== null ? await getMediaRef(trx, campaign.mediaAssetId) : undefined;
    const compiled = compileTemplate(campaign.template, { media });
    const now = ctx.clock.now();
    const run = await trx
      .insertInto('campaign_test_runs')
      .values({
        campaign_id: campaign.id,
        test_list_id: list.id,
        test_list_name: list.name,
        waha_session: campaign.session,
        // Started at once: the worker claims rows of RUNNING runs only.
        status: 'RUNNING',
        template_json: JSON.stringify(campaign.template),
        content_hash: campaign.contentHash,
        created_at: now,
        created_by: ctx.actor,
        started_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();

    // promise 3: each row keeps the endpoint and payload rendered for that tester, forever.
    // Rows are PENDING with no next_attempt_at: exactly what the worker's claim looks for.
    await trx
      .insertInto('campaign_test_run_recipients')
      .values(
        members.map((m) => {
          const vars = testUserVars(m, campaign.brand);
          const target = { session: campaign.session, chatId: m.chatId };
          const fallback = compiled.renderFallback(vars, target);
          const block = blockOf(m.chatId);
          return {
            test_run_id: run.id,
            test_user_id: m.id,
            name: m.name,
            chat_id: m.chatId,
            status: block ? ('SKIPPED' as const) : ('PENDING' as const),
            skip_reason: block,
            message_type: compiled.messageType,
            endpoint: compiled.endpoint,
            rendered_payload: JSON.stringify(compiled.render(vars, target)),
            fallback_endpoint: compiled.fallback?.endpoint ?? null,
            fallback_payload: fallback ? JSON.stringify(fallback) : null,
            created_at: now,
            updated_at: now,
          };
        }),
      )
      .execute();

    const skipped = list.members - members.length;
    const warnings = [...compiled.warnings];
    if (skipped > 0) warnings.push(`${skipped} inactive member(s) of "${list.name}" were left out`);
    for (const m of members) {
      const block = blockOf(m.chatId);
      if (block) warnings.push(`${m.name} (${m.chatId}) is skipped: the number ${describeBlock(blocked.get(m.chatId)!)}`);
    }
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: 'test_run.start',
        entityType: 'test_run',
        entityId: run.id,
        campaignId: campaign.id,
        summary: `Started test run ${run.id} of "${campaign.name}" to list "${list.name}" (${sendable.length} recipient(s)${sendable.length < members.length ? `, ${members.length - sendable.length} skipped: number blocked` : ''}, session ${campaign.session})`,
        details: {
          testRunId: run.id,
          testListId: list.id,
          testListName: list.name,
          recipients: members.length,
          blockedSkipped: members.length - sendable.length,
          inactiveLeftOut: skipped,
          campaignStatus: campaign.status,
          contentHash: campaign.contentHash,
          session: campaign.session,
        },
      },
      ctx.config,
    );
    await notifyWorkers(trx, `test_run:${run.id}`);
    return { ...(await showTestRunIn(trx, run.id)), warnings };
  });
}
