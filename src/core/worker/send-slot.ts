// A send slot: what a claim (or a one-time preview) reserves on a session before calling WAHA, and
// how the slot is settled once the request has left.
//
// promise 1 is measured where WhatsApp sees it: at each message-creating request. A claim commits
// before the request leaves (promise 2), and between the two the worker may still resolve media,
// so counting the drawn delay from the claim would let the next send reach WAHA early. So the
// claim HOLDS the session (in_flight_until = holdUntil, far enough for this request to leave and
// its delay to run) and the outcome re-times the send to the moment the request left
// (`stampSend`): the next send is allowed `delay` after that moment, not after the claim. A worker
// that cannot start its request before the hold would no longer cover it gives the slot back
// unsent (`releaseSlot`); one that dies leaves a hold that simply expires.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/** How long a claim may take, after it commits, to resolve media and start its request. */
export const START_BUDGET_MS = 30_000;

/**
 * A request reaches WAHA a few milliseconds after it is stamped, and the next one's stamp-to-
 * arrival time may be shorter: this margin on top of the drawn delay keeps the gap that WAHA
 * measures at or above the delay. With no delay drawn (pacing off) there is no gap to keep.
 */
export const ARRIVAL_MARGIN_MS = 200;

const marginFor = (delaySeconds: number) => (delaySeconds > 0 ? ARRIVAL_MARGIN_MS : 0);

export interface SendSlot {
  session: string;
  /** The session_sends row that counts this send toward the limits. */
  sessionSendId: number;
  /** The delay drawn for after this send, in seconds. */
  delaySeconds: number;
  /** Set when this send ends a block: the block pause drawn, in seconds. */
  pauseSeconds: number | null;
  /** session_pacing.in_flight_until: nobody else sends on the session before it unless the slot is settled first. */
  holdUntil: Date;
}

export function holdUntilFor(now: Date, delaySeconds: number): Date {
  return new Date(now.getTime() + delaySeconds * 1000 + marginFor(delaySeconds) + START_BUDGET_MS);
}

const delayMs = (slot: SendSlot) => slot.delaySeconds * 1000 + marginFor(slot.delaySeconds);

/**
 * Whether a request starting at `at` is still covered by the hold: the next sender may start at
 * holdUntil even if this slot is never settled, so this request plus its delay must fit before it.
 */
export function slotCovers(slot: SendSlot, at: Date): boolean {
  return at.getTime() + delayMs(slot) <= slot.holdUntil.getTime();
}

/**
 * The request of this slot left at `sentAt` (promise 1): the send counts from then, the next one
 * waits its delay from then (and the block pause, when this send ended a block), and this slot's
 * hold is lifted. Anything stricter that another sender set is kept.
 * One statement: it runs inside the caller's outcome transaction.
 */
export async function stampSend(db: Kysely<Database> | Transaction<Database>, slot: SendSlot, sentAt: Date): Promise<void> {
  const next = new Date(sentAt.getTime() + delayMs(slot));
  const pauseUntil = slot.pauseSeconds === null ? null : new Date(sentAt.getTime() + slot.pauseSeconds * 1000);
  await sql`
    with stamped as (update session_sends set at = ${sentAt} where id = ${slot.sessionSendId})
    update session_pacing set
      next_allowed_at = greatest(next_allowed_at, ${next}::timestamptz),
      in_flight_until = case when in_flight_until = ${slot.holdUntil} then null else in_flight_until end,
      block_pause_until = case when ${pauseUntil}::timestamptz is null then block_pause_until
                               else greatest(block_pause_until, ${pauseUntil}::timestamptz) end,
      last_send_at = ${sentAt}, updated_at = ${sentAt}
    where session = ${slot.session}`.execute(db);
}

/**
 * No request left for this slot: it stops counting and its hold is lifted. The delay the claim
 * stored is kept (a wait more than needed, never less).
 */
export async function releaseSlot(db: Kysely<Database> | Transaction<Database>, slot: SendSlot, now: Date): Promise<void> {
  await sql`
    with uncounted as (delete from session_sends where id = ${slot.sessionSendId})
    update session_pacing set in_flight_until = case when in_flight_until = ${slot.holdUntil} then null else in_flight_until end,
      updated_at = ${now}
    where session = ${slot.session}`.execute(db);
}
