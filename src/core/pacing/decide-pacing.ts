// promise 1: whether the session may send now. Pure: (state, settings, now) in, a decision out,
// so the worker's claim, the forecast and the week-long tests all run this same function.
import type { Settings } from '../settings/settings.schema.js';
import { firstAllowedAt, hourlyReleaseAt, recentSendTimes } from './first-allowed-at.js';
import { pacingMessage } from './pacing-message.js';
import type { PacingDecision, PacingReason, PacingState } from './pacing-state.js';
import { isSendingTime } from './sending-window.js';

/**
 * Reasons are checked in the order an operator would want to hear them: the window and days
 * (nothing else matters outside them), the day's quota, a block pause, the rolling hour, then
 * the per-send delay. `until` is not just when that one reason lifts but the first instant at
 * which every rule allows a send (given no other send meanwhile): it is the most the worker can
 * sleep without under-sending, and never earlier than when the named reason lifts.
 */
export function decidePacing(state: PacingState, settings: Settings, now: Date): PacingDecision {
  const t = now.getTime();
  const recent = recentSendTimes(state, t);
  const hourCount = recent.filter((s) => s <= t).length;
  let reason: PacingReason | null = null;
  if (!isSendingTime(t, settings)) reason = 'outside_window';
  else if (state.sendsToday >= settings.daily_limit) reason = 'daily_limit';
  else if (state.blockPauseUntil !== null && t < state.blockPauseUntil.getTime()) reason = 'block_pause';
  else if (hourlyReleaseAt(recent, settings.hourly_limit, t) > t) reason = 'hourly_limit';
  else if (state.nextAllowedAt !== null && t < state.nextAllowedAt.getTime()) reason = 'delay';
  if (reason === null) return { ok: true };
  const until = firstAllowedAt(state, settings, now);
  return { ok: false, reason, until, message: pacingMessage(reason, { sendsToday: state.sendsToday, hourCount }, settings, now, until) };
}
