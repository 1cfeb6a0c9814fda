// promise 1: whether the session may send now. Pure: (state, settings, now) in, a decision out,
// so the worker's claim, the forecast and the week-long tests all run this same function.
import type { Settings } from '../settings/settings.schema.js';
import { firstAllowedAt, hourlyReleaseAt, recentSendTimes } from './first-allowed-at.js';
import { pacingMessage } from './pacing-message.js';
import type { PacingDecision, PacingOptions, PacingReason, PacingState } from './pacing-state.js';
import { isSendingTime } from './sending-window.js';

/**
 * Reasons are checked in the order an operator would want to hear them: the window and days
 * (nothing else matters outside them), the day's quota, a block pause, the rolling hour, then
 * the per-send delay. `until` is not just when that one reason lifts but the first instant at
 * which every rule allows a send (given no other send meanwhile): it is the most the worker can
 * sleep without under-sending, and never earlier than when the named reason lifts. The worker's
 * claim and the one-time preview both ask here (one decision, promise 1).
 */
export function decidePacing(state: PacingState, settings: Settings, now: Date, options: PacingOptions = {}): PacingDecision {
  const t = now.getTime();
  const recent = recentSendTimes(state, t);
  const hourCount = recent.filter((s) => s <= t).length;
  let reason: PacingReason | null = null;
  if (!options.ignoreWindow && !isSendingTime(t, settings)) reason = 'outside_window';
  else if (state.sendsToday >= settings.daily_limit) reason = 'daily_limit';
  else if (state.blockPauseUntil !== null && t < state.blockPauseUntil.getTime()) reason = 'block_pause';
  else if (hourlyReleaseAt(recent, settings.hourly_limit, t) > t) reason = 'hourly_limit';
  else if (state.nextAllowedAt !== null && t < state.nextAllowedAt.getTime()) reason = 'delay';
  // A send in flight counts as the delay after it: its own delay starts once its request leaves.
  const inFlight = state.inFlightUntil != null && t < state.inFlightUntil.getTime();
  if (reason === null && inFlight) reason = 'delay';
  if (reason === null) return { ok: true };
  const until = firstAllowedAt(state, settings, now, options);
  const message = pacingMessage(reason, { sendsToday: state.sendsToday, hourCount }, settings, now, until);
  if (inFlight && reason === 'delay') return { ok: false, reason, until, inFlight: true, message: `a send is in flight on this session; ${message.replace(/^random delay after the last send; /, '')}, or sooner once it has left` };
  return { ok: false, reason, until, message };
}
