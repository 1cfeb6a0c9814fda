// A send slot: what a claim (or a one-time preview) reserves on a session before calling WAHA, and
// how the request takes it.
//
// promise 1 is measured where WhatsApp sees it: at each message-creating request. A claim commits
// before the request leaves (promise 2), and between the two the worker may still resolve media,
// so counting the drawn delay from the claim would let the next send reach WAHA early. So the
// claim only HOLDS the session (in_flight_until, in_flight_by: nobody else sends on it meanwhile),
// and right before the request leaves, `startSend` re-times the send to that moment and starts its
// delay from there, under the session's row lock, succeeding only while the hold is still this
// slot's; the answer then pushes the next send's delay out again (`delayFromAnswer`). A
// slot whose hold was lost (it expired and another sender took the session, or a peer took its
// holder for dead) sends nothing: the row goes back unsent (`releaseSlot`). So no judgement of who
// is alive can ever let two requests closer than the delay; it can only cost a release.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import type { Database } from '../db/schema.js';

/** How long a claim may take, after it commits, to resolve media and start its request. */
export const START_BUDGET_MS = 30_000;

/**
 * A request reaches WAHA a few milliseconds after it is stamped, and the next one's stamp-to-
 * arrival time may be shorter: this margin on top of the drawn delay keeps the gap that WAHA
 * measures at or above the delay. With no delay drawn (pacing off) there is no gap to keep.
 */
export const ARRIVAL_MARGIN_MS = 200;

export interface SendSlot {
  session: string;
  /** The session_sends row that counts this send toward the limits. */
  sessionSendId: number;
  /** The delay drawn for after this send, in seconds. */
  delaySeconds: number;
  /** Set when this send ends a block: the block pause drawn, in seconds. */
  pauseSeconds: number | null;
  /** session_pacing.in_flight_until as this slot set it. */
  holdUntil: Date;
  /** session_pacing.in_flight_by: the worker's name, or `preview`. */
  holder: string;
}

export function holdUntilFor(now: Date): Date {
  return new Date(now.getTime() + START_BUDGET_MS);
}

const delayMs = (slot: SendSlot) => slot.delaySeconds * 1000 + (slot.delaySeconds > 0 ? ARRIVAL_MARGIN_MS : 0);

/** What startSend checks besides the hold: the row's owner still RUNNING and its number not blocked. */
export interface StartGuard {
  /** A campaign or test run whose status must still be RUNNING (absent for a one-time preview). */
  owner?: { table: 'campaigns' | 'campaign_test_runs'; id: number };
  /** The claimed row, which must still be SENDING under this claim (a peer may have taken its worker for dead). */
  row?: { table: 'send_queue' | 'campaign_test_run_recipients'; id: number; claimedBy: string; claimedAt: Date };
  chatId: string;
}

export type StartResult =
  | { started: true }
  /** The hold was lost (see above), the owner was paused or cancelled, or the number blocked. */
  | { started: false; why: 'hold_lost' | 'row_taken' | 'owner_stopped' | 'opted_out' | 'suppressed' };

/**
 * The request of this slot leaves now, if the slot still holds the session: the send counts from
 * now (`at`, read once the session's row lock is held, so a wait for a claim that holds it does
 * not make the stamp early), the next one waits its delay from `at` (and the block pause, when
 * this send ended a block), and the hold is lifted. In the same statement, the last word of
 * promises 4 and 5 before the request leaves: a pause, cancel, opt-out or suppression that
 * committed since the claim stops it. Nothing changes unless it starts; then the caller must not
 * send.
 */
export async function startSend(db: Kysely<Database>, slot: SendSlot, clock: Clock, guard: StartGuard): Promise<StartResult> {
  return db.transaction().execute(async (trx) => {
    await sql`select 1 from session_pacing where session = ${slot.session} for update`.execute(trx);
    return startLocked(trx, slot, clock.now(), guard);
  });
}

async function startLocked(db: Transaction<Database>, slot: SendSlot, at: Date, guard: StartGuard): Promise<StartResult> {
  const next = new Date(at.getTime() + delayMs(slot));
  const pauseUntil = slot.pauseSeconds === null ? null : new Date(at.getTime() + slot.pauseSeconds * 1000);
  const ownerRunning = guard.owner
    ? sql`exists (select 1 from ${sql.table(guard.owner.table)} o where o.id = ${guard.owner.id} and o.status = 'RUNNING')`
    : sql`true`;
  const rowOurs = guard.row
    ? sql`exists (select 1 from ${sql.table(guard.row.table)} q where q.id = ${guard.row.id} and q.status = 'SENDING'
                  and q.claimed_by = ${guard.row.claimedBy} and q.claimed_at = ${guard.row.claimedAt})`
    : sql`true`;
  const r = await sql<{ started: boolean; owner_running: boolean; row_ours: boolean; opted_out: boolean; suppressed: boolean }>`
    with checks as (
      select ${ownerRunning} as owner_running, ${rowOurs} as row_ours,
             coalesce(n.opted_out, false) as opted_out, coalesce(n.suppressed, false) as suppressed
      from (select 1) one left join number_blocks n on n.chat_id = ${guard.chatId}
    ), started as (
      update session_pacing set
        next_allowed_at = greatest(next_allowed_at, ${next}::timestamptz),
        block_pause_until = case when ${pauseUntil}::timestamptz is null then block_pause_until
                                 else greatest(block_pause_until, ${pauseUntil}::timestamptz) end,
        in_flight_until = null, in_flight_by = null, last_send_at = ${at}, updated_at = ${at}
      where session = ${slot.session} and in_flight_until = ${slot.holdUntil} and in_flight_by = ${slot.holder}
        and (select owner_running and row_ours and not opted_out and not suppressed from checks)
      returning 1
    ), counted as (
      update session_sends set at = ${at} where id = ${slot.sessionSendId} and exists (select 1 from started)
    )
    select exists (select 1 from started) as started, owner_running, row_ours, opted_out, suppressed from checks`.execute(db);
  const row = r.rows[0]!;
  if (row.started) return { started: true };
  if (row.opted_out) return { started: false, why: 'opted_out' };
  if (row.suppressed) return { started: false, why: 'suppressed' };
  if (!row.owner_running) return { started: false, why: 'owner_stopped' };
  if (!row.row_ours) return { started: false, why: 'row_taken' };
  return { started: false, why: 'hold_lost' };
}

/**
 * WAHA answered (or the request ended) at `at`: the next send also waits its delay from here. The
 * request was stamped just before it left, but waiting for the session's row lock, the upload of
 * a large body or a slow connection can make it reach WAHA later than its stamp; the message was
 * made no later than the answer, so this bounds the gap WAHA sees from the other side. Runs first
 * in the outcome's transaction, so that transaction locks the session before the owner and the
 * row, in the claim's order.
 */
export async function delayFromAnswer(db: Kysely<Database> | Transaction<Database>, slot: SendSlot, at: Date): Promise<void> {
  const next = new Date(at.getTime() + slot.delaySeconds * 1000);
  await sql`update session_pacing set next_allowed_at = greatest(next_allowed_at, ${next}::timestamptz), updated_at = ${at}
            where session = ${slot.session}`.execute(db);
}

/**
 * No request left for this slot: it stops counting and its hold is lifted if still in place. The
 * delay the claim stored is kept (a wait more than needed, never less).
 */
export async function releaseSlot(db: Kysely<Database> | Transaction<Database>, slot: SendSlot, now: Date): Promise<void> {
  await sql`
    with uncounted as (delete from session_sends where id = ${slot.sessionSendId})
    update session_pacing set in_flight_until = null, in_flight_by = null, updated_at = ${now}
    where session = ${slot.session} and in_flight_until = ${slot.holdUntil} and in_flight_by = ${slot.holder}`.execute(db);
}

/**
 * Holds of workers found dead are lifted. A hold still in place means its holder never started a
 * request (startSend lifts it as the request leaves), so nothing else changes; should the holder
 * be alive after all, its startSend fails and it sends nothing.
 */
export async function liftDeadHolds(db: Kysely<Database> | Transaction<Database>, deadWorkers: string[], now: Date): Promise<void> {
  if (deadWorkers.length === 0) return;
  await sql`
    update session_pacing set in_flight_until = null, in_flight_by = null, updated_at = ${now}
    where in_flight_by = any(${deadWorkers}::text[]) and in_flight_until is not null`.execute(db);
}
