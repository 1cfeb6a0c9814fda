// `campaign preview <campaign> --to <test-user> [--file draft.json]`: renders the campaign (or a
// draft) with that test user's values and sends it once, now. No queue row and no test run; the
// send is paced and counted for the session like any other (promise 1, reserve-preview-send.ts).
import { recordActivity } from '../audit/audit.repository.js';
import { getCampaign } from '../campaigns/campaign.repository.js';
import type { Context } from '../context.js';
import { assertCanDo } from '../campaigns/campaign-transitions.js';
import { CampaignError } from '../errors.js';
import { getMediaRef } from '../media/media.repository.js';
import { compileTemplate } from '../templates/index.js';
import { testUserVars } from '../test-runs/test-user-vars.js';
import { resolveTestUser } from '../test-users/test-user.service.js';
import type { SendOutcome } from '../waha/index.js';
import type { MediaResolver, SendPort } from '../worker/send-recipient.js';
import { delayFromAnswer, releaseSlot, startSend } from '../worker/send-slot.js';
import { recordSessionDown } from '../worker/session-down.js';
import { previewContent } from './preview-content.js';
import { type PreviewReservation, reservePreviewSend } from './reserve-preview-send.js';

export interface PreviewInput {
  campaign: string;
  testUser: string;
  /** A draft from `--file`: a campaign file or a bare template. Rendered for this send only. */
  template?: unknown;
}

export interface PreviewPorts {
  /** With getSession, the session's live status is checked before anything is reserved. */
  waha: SendPort & { getSession?: (name: string) => Promise<{ status: string }> };
  resolveMedia: MediaResolver;
  rng?: () => number;
  /** Longest wait for a pacing slot before the preview is refused (default 3 min). */
  maxWaitMs?: number;
  onWait?: (message: string, until: Date) => void;
}

export interface PreviewResult {
  status: 'SENT_API_ACCEPTED';
  messageId: string;
  usedFallback: boolean;
  /** The endpoint that was called last (the fallback's when WAHA answered 501). */
  endpoint: string;
  /** The payload as rendered (media stays a `media-asset://` reference; the bytes are not echoed). */
  payload: Record<string, unknown>;
  campaign: { id: number; name: string; status: string };
  testUser: { id: number; name: string; chatId: string };
  session: string;
  source: 'campaign' | 'file';
  messageType: string;
  sendsToday: number;
  dailyLimit: number;
  warnings: string[];
}

/** A refused or lost send becomes an UPSTREAM error naming what WAHA said (exit 8). */
function wahaError(outcome: Exclude<SendOutcome, { kind: 'accepted' }>, where: { session: string; endpoint: string }, note = ''): CampaignError {
  const details = { outcome, session: where.session, endpoint: where.endpoint };
  switch (outcome.kind) {
    case 'session_unavailable':
      return new CampaignError(
        'WAHA_REJECTED',
        `WAHA did not send the preview: session "${where.session}" is not usable (${outcome.reason}${outcome.status ? `, status ${outcome.status}` : ''}). Check \`campaign sessions\`.${note}`,
        details,
      );
    case 'rejected':
    case 'not_implemented':
      return new CampaignError('WAHA_REJECTED', `WAHA refused the preview on ${where.endpoint} (${outcome.status}): ${outcome.error}.${note}`, details);
    case 'retryable':
      return new CampaignError(
        'WAHA_UNAVAILABLE',
        `WAHA did not take the preview${outcome.status ? ` (${outcome.status})` : ''}: ${outcome.error}. Nothing was sent; try again in a moment.${note}`,
        details,
      );
    case 'unknown':
      return new CampaignError(
        'WAHA_UNAVAILABLE',
        `The preview may or may not have reached WAHA: ${outcome.error}. Check the test user's phone before sending it again.${note}`,
        details,
      );
  }
}

export async function sendPreview(ctx: Context, input: PreviewInput, ports: PreviewPorts): Promise<PreviewResult> {
  const campaign = await getCampaign(ctx.db, input.campaign);
  // The transitions table decides which states may be previewed (one rule for every surface).
  assertCanDo(campaign, 'preview');
  // The table refuses CANCELLED; archiving is not a state, so it is checked here.
  if (campaign.archived) {
    throw new CampaignError(
      'INVALID_TRANSITION',
      `Campaign ${campaign.id} is archived, so it cannot be previewed: run \`campaign duplicate ${campaign.id}\` for a new draft.`,
      { campaignId: campaign.id, status: campaign.status, archived: campaign.archived },
    );
  }
  const user = await resolveTestUser(ctx.db, input.testUser);
  if (!user.active) {
    throw new CampaignError('TEST_USER_INACTIVE', `Test user #${user.id} ${user.name} is deactivated; run \`campaign test-users activate ${user.id}\` first.`, { testUserId: user.id });
  }
  const content = previewContent(campaign, input.template);
  const media = content.mediaAssetId !== null ? await getMediaRef(ctx.db, content.mediaAssetId) : undefined;
  const compiled = compileTemplate(content.template, { media });
  const vars = testUserVars(user, content.brand);
  const target = { session: content.session, chatId: user.chatId };
  const payload = compiled.render(vars, target);
  const fallback = compiled.renderFallback(vars, target);
  // Media is read before the send is counted: a missing file must not use up the session's quota.
  const body = await ports.resolveMedia(payload);
  // A session WAHA reports as not WORKING is refused before any pacing slot or send.
  if (ports.waha.getSession) {
    const live = await ports.waha.getSession(content.session);
    if (live.status !== 'WORKING') {
      throw new CampaignError(
        'SESSION_NOT_WORKING',
        `Session "${content.session}" is ${live.status} in WAHA, so the preview was not sent. Check \`campaign sessions\` (a session in SCAN_QR_CODE needs its QR code scanned).`,
        { session: content.session, status: live.status },
      );
    }
  }
  const reserveFor = (endpoint: string, isFallback: boolean) =>
    reservePreviewSend(
      ctx,
      {
        session: content.session,
        campaignId: campaign.id,
        campaignName: campaign.name,
        testUser: { id: user.id, name: user.name },
        chatId: user.chatId,
        endpoint,
        source: content.source,
        fallback: isFallback,
      },
      { rng: ports.rng, maxWaitMs: ports.maxWaitMs, onWait: ports.onWait },
    );
  // Reserved and committed before WAHA is called (promise 2): a crash from here on leaves a
  // counted send, never a silent second one; the send is timed from when its request leaves.
  const sendIn = async (reservation: PreviewReservation, endpoint: string, requestBody: Record<string, unknown>) => {
    const start = await startSend(ctx.db, reservation.slot, ctx.clock, { chatId: user.chatId });
    if (!start.started) {
      await releaseSlot(ctx.db, reservation.slot, ctx.clock.now());
      if (start.why === 'hold_lost') {
        throw new CampaignError('LIMIT_REACHED', `The preview's pacing slot on session "${content.session}" expired before it could be sent; nothing was sent. Try again.`, { session: content.session });
      }
      throw new CampaignError('NUMBER_BLOCKED', `Test user #${user.id} ${user.name}'s number ${user.chatId} was ${start.why === 'opted_out' ? 'opted out' : 'suppressed'} just now; nothing was sent.`, { chatId: user.chatId });
    }
    const result = await ports.waha.send(endpoint, requestBody);
    await delayFromAnswer(ctx.db, reservation.slot, ctx.clock.now());
    // The same rule as the worker's: a session WAHA calls unusable stops counting and pauses.
    if (result.kind === 'session_unavailable') await recordSessionDown(ctx.db, reservation.slot, result, ctx.clock.now());
    return result;
  };

  let reservation = await reserveFor(compiled.endpoint, false);
  let outcome = await sendIn(reservation, compiled.endpoint, body);
  let usedFallback = false;
  let endpoint = compiled.endpoint;
  let sentPayload = payload;
  if (outcome.kind === 'not_implemented' && compiled.fallback && fallback) {
    // The fallback is a second message-creating request: it takes a paced slot of its own (promise 1).
    usedFallback = true;
    endpoint = compiled.fallback.endpoint;
    sentPayload = fallback;
    const fallbackBody = await ports.resolveMedia(fallback);
    reservation = await reserveFor(endpoint, true);
    outcome = await sendIn(reservation, endpoint, fallbackBody);
  }

  await recordActivity(
    ctx.db,
    {
      actor: ctx.actor,
      action: 'preview.result',
      entityType: 'campaign',
      entityId: campaign.id,
      campaignId: campaign.id,
      summary:
        outcome.kind === 'accepted'
          ? `Preview of "${campaign.name}" to ${user.name} accepted by WAHA${usedFallback ? ' (fallback sent after 501)' : ''}`
          : `Preview of "${campaign.name}" to ${user.name} not sent: ${outcome.kind}`,
      details: { sessionSendId: reservation.slot.sessionSendId, outcome, usedFallback, endpoint },
    },
    ctx.config,
  );

  if (outcome.kind !== 'accepted') {
    throw wahaError(outcome, { session: content.session, endpoint }, usedFallback ? ' (WAHA answered 501 for the main message, so the fallback was tried.)' : '');
  }
  return {
    status: 'SENT_API_ACCEPTED',
    messageId: outcome.messageId,
    usedFallback,
    endpoint,
    payload: sentPayload,
    campaign: { id: campaign.id, name: campaign.name, status: campaign.status },
    testUser: { id: user.id, name: user.name, chatId: user.chatId },
    session: content.session,
    source: content.source,
    messageType: usedFallback && compiled.fallback ? compiled.fallback.messageType : compiled.messageType,
    sendsToday: reservation.sendsToday,
    dailyLimit: reservation.dailyLimit,
    warnings: compiled.warnings,
  };
}
