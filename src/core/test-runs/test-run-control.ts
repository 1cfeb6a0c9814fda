// pause, resume, cancel of a test run. promise 5: the change commits under the run's row lock and
// the worker's claim re-reads that row FOR SHARE, so once a pause or cancel commits no new send
// of the run starts (a send already claimed finishes and is recorded).
import { sql, type Transaction } from 'kysely';
import { recordActivity } from '../audit/audit.repository.js';
import { notifyWorkers } from '../campaigns/campaign-control.js';
import type { Context } from '../context.js';
import type { Database, TestRunState } from '../db/schema.js';
import { CampaignError } from '../errors.js';
import { type ShowTestRunResult, showTestRunIn } from './show-test-run.js';
import { lockTestRun, type TestRun } from './test-run.repository.js';

type TestRunAction = 'pause' | 'resume' | 'cancel';

const ALLOWED: Record<TestRunAction, readonly TestRunState[]> = {
  pause: ['PENDING', 'RUNNING'],
  resume: ['PAUSED'],
  cancel: ['PENDING', 'RUNNING', 'PAUSED'],
};

function refuse(run: TestRun, action: TestRunAction): never {
  const why =
    run.status === 'COMPLETED' || run.status === 'CANCELLED'
      ? `it has finished; start a new one with \`campaign test start ${run.campaignId} --list "${run.testListName}"\``
      : action === 'pause'
        ? 'it is already paused'
        : action === 'resume'
          ? 'it is already running'
          : 'check `campaign test show`';
  throw new CampaignError('TEST_RUN_INVALID_TRANSITION', `Test run ${run.id} is ${run.status}, so it cannot ${action}: ${why}.`, {
    testRunId: run.id,
    status: run.status,
    action,
    allowedFrom: ALLOWED[action],
  });
}

/** Rows still open: while any remain, resuming hands the run back to the worker. */
async function openRows(trx: Transaction<Database>, runId: number): Promise<number> {
  const r = await sql<{ n: number }>`
    select count(*)::int as n from campaign_test_run_recipients
    where test_run_id = ${runId} and status in ('PENDING','PAUSED','SENDING')`.execute(trx);
  return r.rows[0]!.n;
}

async function transition(ctx: Context, ref: string, action: TestRunAction, reason?: string): Promise<ShowTestRunResult> {
  return ctx.db.transaction().execute(async (trx) => {
    const current = await lockTestRun(trx, ref);
    if (!ALLOWED[action].includes(current.status)) refuse(current, action);
    const now = ctx.clock.now();
    let to: TestRunState = action === 'pause' ? 'PAUSED' : action === 'resume' ? 'RUNNING' : 'CANCELLED';
    const set: Record<string, unknown> = { updated_at: now };
    if (action === 'pause') Object.assign(set, { paused_at: now, pause_reason: reason ?? `paused by ${ctx.actor}` });
    if (action === 'resume') {
      set.pause_reason = null;
      // The worker completes a run only after a send; one whose last send finished while it was
      // paused would otherwise stay RUNNING with nothing left to claim.
      if ((await openRows(trx, current.id)) === 0) {
        to = 'COMPLETED';
        set.completed_at = now;
      }
    }
    let skipped = 0;
    if (action === 'cancel') {
      // campaign_test_runs has one reason column: it holds why the run is paused or cancelled.
      Object.assign(set, { cancelled_at: now, pause_reason: reason ?? null });
      // Rows that never left are skipped; rows in flight or unknown keep their state.
      const r = await trx
        .updateTable('campaign_test_run_recipients')
        .set({ status: 'SKIPPED', skip_reason: 'test run cancelled', updated_at: now })
        .where('test_run_id', '=', current.id)
        .where('status', 'in', ['PENDING', 'PAUSED'])
        .executeTakeFirst();
      skipped = Number(r.numUpdatedRows);
    }
    set.status = to;
    await trx.updateTable('campaign_test_runs').set(set).where('id', '=', current.id).execute();
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: `test_run.${action}`,
        entityType: 'test_run',
        entityId: current.id,
        campaignId: current.campaignId,
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} test run ${current.id} of "${current.campaignName}"${to === 'COMPLETED' ? ' (nothing left to send: completed)' : ''}${skipped ? `; ${skipped} unsent row(s) skipped` : ''}${reason ? `: ${reason}` : ''}`,
        details: { from: current.status, to, reason: reason ?? null, skipped },
      },
      ctx.config,
    );
    if (to === 'RUNNING') await notifyWorkers(trx, `test_run:${current.id}`);
    return showTestRunIn(trx, current.id);
  });
}

export const pauseTestRun = (ctx: Context, ref: string, reason?: string) => transition(ctx, ref, 'pause', reason);
export const resumeTestRun = (ctx: Context, ref: string, reason?: string) => transition(ctx, ref, 'resume', reason);
export const cancelTestRun = (ctx: Context, ref: string, reason?: string) => transition(ctx, ref, 'cancel', reason);
