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
  /** Set while a claimed send's request has not left yet: nobody else sends before it settles. */
  inFlightUntil?: Date | null;
}

export type PacingReason = 'outside_window' | 'daily_limit' | 'hourly_limit' | 'delay' | 'block_pause';

/**
 * Who asks. A one-time preview goes to an internal tester, so it may skip the sending window and
 * days; every other rule (daily, hourly, delay, block pause) binds it like a worker (promise 1).
 */
export interface PacingOptions {
  ignoreWindow?: boolean;
}

/** `inFlight`: held by a send whose request is about to leave; it usually settles well before `until`. */
export type PacingDecision = { ok: true } | { ok: false; reason: PacingReason; until: Date; message: string; inFlight?: boolean };
