// The pacing state of one WAHA session, as the claim reads it under the session's row lock, and
// the answer pacing gives. "Wait until 09:00" is a result, not an error (STYLE.md).

export interface PacingState {
  /** Sends of the session in the calendar day (settings.timezone) that contains `now`. */
  sendsToday: number;
  /** Sends in the rolling last hour, any order; older ones are ignored. */
  recentSends: Date[];
  /** End of the random delay drawn after the last send. */
  nextAllowedAt: Date | null;
  /** End of the block pause, when one is running. */
  blockPauseUntil: Date | null;
  /** Sends since the last block pause. */
  sendsInBlock: number;
}

export type PacingReason = 'outside_window' | 'daily_limit' | 'hourly_limit' | 'delay' | 'block_pause';

export type PacingDecision = { ok: true } | { ok: false; reason: PacingReason; until: Date; message: string };
