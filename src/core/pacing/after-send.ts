// promise 1: what a send leaves behind — the random delay before the next one and, every
// pause_after_sends sends, a block pause. Drawn once here and stored, so every worker on every
// machine obeys the same draw.
import type { Settings } from '../settings/settings.schema.js';
import type { PacingState } from './pacing-state.js';

export interface AfterSend {
  nextAllowedAt: Date;
  sendsInBlock: number;
  blockPauseUntil: Date | null;
  delaySeconds: number;
  /** Set when this send ended a block and started a pause. */
  pauseMinutes?: number;
  pauseSeconds?: number;
}

/** Uniform over the whole numbers in [min, max]; whole seconds keep stored and logged values exact. */
function drawWhole(min: number, max: number, rng: () => number): number {
  return min + Math.min(max - min, Math.floor(rng() * (max - min + 1)));
}

export function afterSend(state: PacingState, settings: Settings, now: Date, rng: () => number = Math.random): AfterSend {
  const t = now.getTime();
  const delaySeconds = drawWhole(settings.delay_min_seconds, settings.delay_max_seconds, rng);
  const nextAllowedAt = new Date(t + delaySeconds * 1000);
  const sendsInBlock = state.sendsInBlock + 1;
  if (sendsInBlock >= settings.pause_after_sends) {
    const pauseSeconds = drawWhole(settings.pause_min_minutes * 60, settings.pause_max_minutes * 60, rng);
    return { nextAllowedAt, sendsInBlock: 0, blockPauseUntil: new Date(t + pauseSeconds * 1000), delaySeconds, pauseMinutes: pauseSeconds / 60, pauseSeconds };
  }
  // A pause that has not ended yet is carried over: this function never loosens the stored state.
  const running = state.blockPauseUntil !== null && state.blockPauseUntil.getTime() > t ? state.blockPauseUntil : null;
  return { nextAllowedAt, sendsInBlock, blockPauseUntil: running, delaySeconds };
}
