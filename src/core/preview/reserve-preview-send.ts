// The one transaction that lets a preview's request leave. promise 1: previews are real sends
// from the session, so they take the worker's lock on the session's pacing row and ask the same
// pacing decision (decidePacing) as the worker's claim; only the sending window and days are
// skipped, since the recipient is an internal tester. A session known not to be WORKING is
// refused here, before any request. A slot that is a short wait away (the drawn delay after the
// last send, usually) is waited for, up to `maxWaitMs`; a longer one is refused, saying when.
import { recordActivity } from '../audit/audit.repository.js';
import type { Context } from '../context.js';
import { describeBlock, toNumberBlock } from '../contacts/number-block.repository.js';
import { CampaignError } from '../errors.js';
import { afterSend, decidePacing } from '../pacing/index.js';
import { getSettings } from '../settings/settings.service.js';
import { loadPacingState, lockSessionPacing } from '../worker/claim-next.js';
import { holdUntilFor, type SendSlot } from '../worker/send-slot.js';

/** How long a preview waits for its slot by default before it is refused. */
export const PREVIEW_MAX_WAIT_MS = 3 * 60_000;

export interface PreviewReservation {
  slot: SendSlot;
  sendsToday: number;
  dailyLimit: number;
  /** How long the preview waited for its slot. */
  waitedMs: number;
}

export interface ReserveInput {
  session: string;
  campaignId: number;
  campaignName: string;
  testUser: { id: number; name: string };
  chatId: string;
  endpoint: string;
  source: 'campaign' | 'file';
  /** The fallback after a 501 takes a slot of its own. */
  fallback?: boolean;
}

export interface ReserveOptions {
  rng?: () => number;
  maxWaitMs?: number;
  /** Told once per wait, with the pacing sentence (the CLI prints it on stderr). */
  onWait?: (message: string, until: Date) => void;
}

function inWords(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`;
}

export async function reservePreviewSend(ctx: Context, input: ReserveInput, options: ReserveOptions = {}): Promise<PreviewReservation> {
  const maxWaitMs = options.maxWaitMs ?? PREVIEW_MAX_WAIT_MS;
  const rng = options.rng ?? Math.random;
  const started = ctx.clock.now().getTime();
  for (;;) {
    const step = await ctx.db.transaction().execute(async (trx) => {
      const settings = await getSettings(trx);
      const locked = await lockSessionPacing(trx, input.session);
      const now = ctx.clock.now();
      // The locked row is the pacing row: no second read of it (the counts still run after the lock).
      const state = await loadPacingState(trx, input.session, settings, now, locked);
      if (state.notWorkingReason) {
        throw new CampaignError(
          'SESSION_NOT_WORKING',
          `Session "${input.session}" is not working (${state.notWorkingReason}), so the preview was not sent and WAHA was not called. ` +
            'Check `campaign sessions`; the worker notices when WAHA reports the session WORKING again.',
          { session: input.session, reason: state.notWorkingReason },
        );
      }
      // promise 4: a tester whose number opted out (sent STOP) or is suppressed gets no preview
      // either. Locked FOR SHARE like the worker's claim does, so an opt-out in progress is seen.
      await trx.insertInto('number_blocks').values({ chat_id: input.chatId, created_at: now, updated_at: now }).onConflict((oc) => oc.column('chat_id').doNothing()).execute();
      const block = toNumberBlock(await trx.selectFrom('number_blocks').selectAll().where('chat_id', '=', input.chatId).forShare().executeTakeFirstOrThrow());
      if (block.optedOut || block.suppressed) {
        throw new CampaignError(
          'NUMBER_BLOCKED',
          `Test user #${input.testUser.id} ${input.testUser.name}'s number ${input.chatId} is ${describeBlock(block)}, so no preview is sent to it. ` +
            'Lift it with `campaign contacts opt-in` or `campaign contacts unsuppress` if that is wrong.',
          { chatId: input.chatId, optedOut: block.optedOut, suppressed: block.suppressed },
        );
      }
      const decision = decidePacing(state, settings, now, { ignoreWindow: true });
      if (!decision.ok) return { kind: 'blocked' as const, decision, now, settings, state };
      const next = afterSend(state, settings, now, rng);
      const holdUntil = holdUntilFor(now);
      const row = await trx
        .insertInto('session_sends')
        .values({ session: input.session, at: now, kind: 'preview', campaign_id: input.campaignId, queue_id: null, test_recipient_id: null, chat_id: input.chatId })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx
        .updateTable('session_pacing')
        .set({ last_send_at: now, next_allowed_at: next.nextAllowedAt, in_flight_until: holdUntil, in_flight_by: 'preview', sends_in_block: next.sendsInBlock, block_pause_until: next.blockPauseUntil, updated_at: now })
        .where('session', '=', input.session)
        .execute();
      const sendsToday = state.sendsToday + 1;
      await recordActivity(
        trx,
        {
          actor: ctx.actor,
          action: 'preview.send',
          entityType: 'campaign',
          entityId: input.campaignId,
          campaignId: input.campaignId,
          summary:
            `One-time preview${input.fallback ? ' fallback' : ''} of "${input.campaignName}"${input.source === 'file' ? ' (draft from file)' : ''} ` +
            `to test user #${input.testUser.id} ${input.testUser.name} (${input.chatId}) on session ${input.session}`,
          details: {
            testUserId: input.testUser.id,
            chatId: input.chatId,
            session: input.session,
            endpoint: input.endpoint,
            source: input.source,
            sessionSendId: row.id,
            sendsToday,
            dailyLimit: settings.daily_limit,
            waitedMs: now.getTime() - started,
          },
        },
        ctx.config,
      );
      const slot: SendSlot = { session: input.session, sessionSendId: Number(row.id), delaySeconds: next.delaySeconds, pauseSeconds: next.pauseSeconds ?? null, holdUntil, holder: 'preview' };
      return { kind: 'reserved' as const, reservation: { slot, sendsToday, dailyLimit: settings.daily_limit, waitedMs: now.getTime() - started } };
    });
    if (step.kind === 'reserved') return step.reservation;

    const { decision, now, settings, state } = step;
    const waitMs = decision.until.getTime() - now.getTime();
    const waited = now.getTime() - started;
    // A send in flight settles as soon as its request leaves (usually well before `until`): look
    // again shortly, for as long as the wait allows.
    if (decision.inFlight && waited < maxWaitMs) {
      await ctx.clock.sleep(Math.min(250, waitMs, maxWaitMs - waited));
      continue;
    }
    if (waited + waitMs > maxWaitMs) {
      throw new CampaignError(
        'LIMIT_REACHED',
        `Session "${input.session}" cannot send the preview now: ${decision.message}, in ${inWords(waitMs)}. ` +
          `Previews count toward the session's limits like campaigns and test runs (only the sending window and days do not apply). Nothing was sent.`,
        {
          session: input.session,
          reason: decision.reason,
          allowedAt: decision.until.toISOString(),
          ...(decision.reason === 'daily_limit' ? { resetsAt: decision.until.toISOString() } : {}),
          timezone: settings.timezone,
          sendsToday: state.sendsToday,
          dailyLimit: settings.daily_limit,
          hourlyLimit: settings.hourly_limit,
        },
      );
    }
    options.onWait?.(`Session "${input.session}": ${decision.message}; the preview waits ${inWords(waitMs)} for its slot.`, decision.until);
    await ctx.clock.sleep(Math.max(waitMs, 1));
  }
}
