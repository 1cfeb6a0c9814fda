// The one transaction that lets a preview leave: lock the session's pacing row (the same lock the
// worker's claim takes, so previews and every worker are serialised per session), count today's
// and the last hour's sends, refuse at a limit, else record the send. promise 1: previews are
// real sends from the session and count toward its limits.
import { DateTime } from 'luxon';
import type { Context } from '../context.js';
import { CampaignError } from '../errors.js';
import { afterSend, dayBounds } from '../pacing/index.js';
import { getSettings } from '../settings/settings.service.js';
import { loadPacingState, lockSessionPacing } from '../worker/claim-next.js';
import { recordActivity } from '../audit/audit.repository.js';

export interface PreviewReservation {
  sessionSendId: number;
  sendsToday: number;
  dailyLimit: number;
}

export interface ReserveInput {
  session: string;
  campaignId: number;
  campaignName: string;
  testUser: { id: number; name: string };
  chatId: string;
  endpoint: string;
  source: 'campaign' | 'file';
}

function inWords(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`;
}

function localLabel(at: Date, timezone: string): string {
  return DateTime.fromJSDate(at, { zone: timezone }).toFormat('ccc d LLL HH:mm');
}

export async function reservePreviewSend(ctx: Context, input: ReserveInput, rng: () => number = Math.random): Promise<PreviewReservation> {
  return ctx.db.transaction().execute(async (trx) => {
    const settings = await getSettings(trx);
    const locked = await lockSessionPacing(trx, input.session);
    const now = ctx.clock.now();
    // The locked row is the pacing row: no second read of it (the counts still run after the lock).
    const state = await loadPacingState(trx, input.session, settings, now, locked);
    const tz = settings.timezone;
    if (state.sendsToday >= settings.daily_limit) {
      const { end } = dayBounds(now, tz);
      throw new CampaignError(
        'LIMIT_REACHED',
        `Session "${input.session}" is at its daily limit: ${state.sendsToday} of ${settings.daily_limit} sends today (campaigns, test runs and previews count alike). ` +
          `The count resets at midnight ${tz}, ${localLabel(end, tz)} (in ${inWords(end.getTime() - now.getTime())}). Nothing was sent.`,
        { session: input.session, reason: 'daily_limit', sendsToday: state.sendsToday, dailyLimit: settings.daily_limit, resetsAt: end.toISOString(), timezone: tz },
      );
    }
    // The rolling hour is as hard a limit as the day (promise 1).
    const recent = [...state.recentSends].filter((d) => d.getTime() > now.getTime() - 3_600_000).sort((a, b) => b.getTime() - a.getTime());
    if (recent.length >= settings.hourly_limit) {
      const release = new Date(recent[settings.hourly_limit - 1]!.getTime() + 3_600_000);
      throw new CampaignError(
        'LIMIT_REACHED',
        `Session "${input.session}" is at its hourly limit: ${recent.length} of ${settings.hourly_limit} sends in the last 60 minutes. ` +
          `The next send is allowed at ${localLabel(release, tz)} ${tz} (in ${inWords(release.getTime() - now.getTime())}). Nothing was sent.`,
        { session: input.session, reason: 'hourly_limit', sendsLastHour: recent.length, hourlyLimit: settings.hourly_limit, allowedAt: release.toISOString(), timezone: tz },
      );
    }
    const row = await trx
      .insertInto('session_sends')
      .values({ session: input.session, at: now, kind: 'preview', campaign_id: input.campaignId, queue_id: null, test_recipient_id: null, chat_id: input.chatId })
      .returning('id')
      .executeTakeFirstOrThrow();
    // The worker's next send keeps its random delay (and block count) after this one; a delay
    // already drawn is never shortened.
    const next = afterSend(state, settings, now, rng);
    const keepLater = (a: Date | null, b: Date | null) => (a && (!b || a > b) ? a : b);
    await trx
      .updateTable('session_pacing')
      .set({
        last_send_at: now,
        next_allowed_at: keepLater(state.nextAllowedAt, next.nextAllowedAt),
        sends_in_block: next.sendsInBlock,
        block_pause_until: keepLater(state.blockPauseUntil, next.blockPauseUntil),
        updated_at: now,
      })
      .where('session', '=', input.session)
      .execute();
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: 'preview.send',
        entityType: 'campaign',
        entityId: input.campaignId,
        campaignId: input.campaignId,
        summary: `One-time preview of "${input.campaignName}"${input.source === 'file' ? ' (draft from file)' : ''} to test user #${input.testUser.id} ${input.testUser.name} (${input.chatId}) on session ${input.session}`,
        details: {
          testUserId: input.testUser.id,
          chatId: input.chatId,
          session: input.session,
          endpoint: input.endpoint,
          source: input.source,
          sessionSendId: row.id,
          sendsToday: state.sendsToday + 1,
          dailyLimit: settings.daily_limit,
        },
      },
      ctx.config,
    );
    return { sessionSendId: row.id, sendsToday: state.sendsToday + 1, dailyLimit: settings.daily_limit };
  });
}
