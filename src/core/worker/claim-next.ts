// The claim: the one transaction that decides whether a message may leave now, and which.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Context } from '../context.js';
import type { Database } from '../db/schema.js';
import { afterSend, dayBounds, decidePacing, type PacingState } from '../pacing/index.js';
import type { Settings } from '../settings/settings.schema.js';
import { completeFinishedOwners } from './completion.js';
import { holdUntilFor, liftDeadHolds, START_BUDGET_MS } from './send-slot.js';
import { type ClaimedRecipient, type RecipientKind, recipientTable } from './recipient-tables.js';
import { recordWorkerEvent } from './worker-events.js';

export type ClaimResult =
  | { kind: 'claimed'; recipient: ClaimedRecipient }
  | { kind: 'blocked'; reason: 'outside_window' | 'daily_limit' | 'hourly_limit' | 'delay' | 'block_pause' | 'session_not_working'; until: Date; message: string }
  | { kind: 'idle' };

interface Candidate {
  id: number;
  owner_id: number;
  campaign_id: number;
  contact_id: number | null;
  chat_id: string;
  message_type: string;
  endpoint: string;
  rendered_payload: Record<string, unknown>;
  fallback_endpoint: string | null;
  fallback_payload: Record<string, unknown> | null;
  /** WAHA answered 501 for the main message on an earlier attempt: this row sends its fallback. */
  used_fallback: boolean;
  attempts: number;
  /** The number's blocks as of the lock (number_blocks, for campaign and test-run rows alike). */
  opted_out?: boolean;
  suppressed?: boolean;
}

interface PacingRow {
  next_allowed_at: Date | null;
  block_pause_until: Date | null;
  sends_in_block: number;
  not_working_reason: string | null;
  in_flight_until: Date | null;
  in_flight_by: string | null;
}

export type SessionPacingState = PacingState & { notWorkingReason: string | null };

const FRESH_PACING: PacingRow = { next_allowed_at: null, block_pause_until: null, sends_in_block: 0, not_working_reason: null, in_flight_until: null, in_flight_by: null };

/** Each session's sends today (settings.timezone) and in the rolling hour, in one statement. */
async function sendCounts(
  db: Kysely<Database> | Transaction<Database>,
  sessions: string[],
  settings: Settings,
  now: Date,
): Promise<Map<string, { today: number; recent: Date[] }>> {
  const { start } = dayBounds(now, settings.timezone);
  const hourAgo = new Date(now.getTime() - 3_600_000);
  const r = await sql<{ session: string; today: number; recent: Date[] | null }>`
    select session, count(*) filter (where at >= ${start})::int as today,
           array_agg(at order by at desc) filter (where at > ${hourAgo}) as recent
    from session_sends where session = any(${sessions}::text[]) and at >= least(${start}::timestamptz, ${hourAgo}::timestamptz)
    group by session`.execute(db);
  return new Map(r.rows.map((c) => [c.session, { today: c.today, recent: (c.recent ?? []).map((d) => new Date(d)) }]));
}

function toPacingState(row: PacingRow, counts: { today: number; recent: Date[] } | undefined): SessionPacingState {
  return {
    sendsToday: counts?.today ?? 0,
    recentSends: counts?.recent ?? [],
    nextAllowedAt: row.next_allowed_at,
    blockPauseUntil: row.block_pause_until,
    sendsInBlock: row.sends_in_block,
    inFlightUntil: row.in_flight_until,
    notWorkingReason: row.not_working_reason,
  };
}

/**
 * Reads the session's pacing state. Inside the claim the caller passes the row it locked; the
 * send counts are always a statement of their own, run after the lock is held: a statement's
 * snapshot is taken when it starts, so counts read in the locking statement itself would miss a
 * send another worker committed while this one waited for the lock (promise 1).
 */
export async function loadPacingState(
  trx: Kysely<Database> | Transaction<Database>,
  session: string,
  settings: Settings,
  now: Date,
  locked?: PacingRow,
): Promise<SessionPacingState> {
  // A session nobody has sent on yet has no row: a fresh state (readers call this without the lock).
  const row = locked ??
    (await trx.selectFrom('session_pacing').select(['next_allowed_at', 'block_pause_until', 'sends_in_block', 'not_working_reason', 'in_flight_until', 'in_flight_by']).where('session', '=', session).executeTakeFirst()) ??
    FRESH_PACING;
  return toPacingState(row, (await sendCounts(trx, [session], settings, now)).get(session));
}

/** Readers (status, TUI, running overview): every named session's state in two statements, without locks. */
export async function loadPacingStates(db: Kysely<Database>, sessions: string[], settings: Settings, now: Date): Promise<Map<string, SessionPacingState>> {
  const names = [...new Set(sessions)];
  if (names.length === 0) return new Map();
  const rows = await db
    .selectFrom('session_pacing')
    .select(['session', 'next_allowed_at', 'block_pause_until', 'sends_in_block', 'not_working_reason', 'in_flight_until', 'in_flight_by'])
    .where('session', 'in', names)
    .execute();
  const bySession = new Map(rows.map((r) => [r.session, r]));
  const counts = await sendCounts(db, names, settings, now);
  return new Map(names.map((s) => [s, toPacingState(bySession.get(s) ?? FRESH_PACING, counts.get(s))]));
}

/**
 * Locks the session's pacing row (creating it on first use) and returns it: the lock serialises
 * every claim and preview for the session, on every machine. One statement in the common case.
 */
export async function lockSessionPacing(trx: Transaction<Database>, session: string): Promise<PacingRow> {
  const select = () =>
    sql<PacingRow>`select next_allowed_at, block_pause_until, sends_in_block, not_working_reason, in_flight_until, in_flight_by
                   from session_pacing where session = ${session} for update`.execute(trx);
  let r = await select();
  if (r.rows.length === 0) {
    await sql`insert into session_pacing (session) values (${session}) on conflict (session) do nothing`.execute(trx);
    r = await select();
  }
  return r.rows[0]!;
}

/**
 * Picks the next sendable row of the session: test-run recipients before campaign rows, oldest
 * first. `FOR UPDATE … SKIP LOCKED` so concurrent claimers never wait on each other's rows; the
 * partial indexes on PENDING rows keep the walk short as the queue drains (STACK.md: 3x faster
 * than an index on status alone).
 *
 * Fix (deadlock): the owner row is share-locked here too, with SKIP LOCKED. Cancel locks the
 * campaign (or test run) FOR UPDATE and then skips its PENDING rows; the claim used to lock a
 * PENDING row first and then wait on the owner in `recheck`, so each waited on the other and
 * Postgres killed one: a worker process crashed, or the operator's cancel failed. Now an owner
 * that a pause or cancel is changing is passed over (promise 5: nothing is claimed from it), and
 * the claim never waits while holding a row that cancel wants.
 *
 * promise 4: opt-out and suppression bind to the number, so the claim locks the row's number in
 * number_blocks FOR SHARE, WITHOUT skip, for campaign rows and test-run rows alike. Chosen over
 * copying the flags onto every contact row of the number: test users have no contact row, and a
 * STOP can come from a number no contact has. The join is INNER on a row that always exists
 * (migration 0006 inserts it with every recipient row), because a lock needs a row: a LEFT join
 * on a missing row would lock nothing and miss an opt-out that is inserting it. Every opt-out and
 * suppression writes that row first (contacts/number-block.repository.ts), so one in progress is
 * waited for and then seen (Postgres re-reads a locked row at its latest committed version), and
 * one that starts while this claim holds the lock waits until the row is SENDING and committed:
 * a row is either sent before the opt-out committed or SKIPPED, never sent after. Opt-outs pass
 * over recipient rows a claim holds (SKIP LOCKED), so the two never wait on each other in a cycle.
 * The contact row itself is no longer locked: a block on it binds its number in the same
 * transaction (trigger contacts_block_number).
 */
async function nextCandidate(trx: Transaction<Database>, kind: RecipientKind, session: string, now: Date, skip: number[]): Promise<Candidate | undefined> {
  const skipList = skip.length ? sql`and r.id <> all(${skip}::bigint[])` : sql``;
  if (kind === 'test') {
    const r = await sql<Candidate>`
      select r.id, r.test_run_id as owner_id, t.campaign_id, null::bigint as contact_id, r.chat_id, r.message_type, r.endpoint,
             r.rendered_payload, r.fallback_endpoint, r.fallback_payload, r.used_fallback, r.attempts, n.opted_out, n.suppressed
      from campaign_test_run_recipients r
      join campaign_test_runs t on t.id = r.test_run_id
      join number_blocks n on n.chat_id = r.chat_id
      where t.waha_session = ${session} and t.status = 'RUNNING'
        and r.status = 'PENDING' and (r.next_attempt_at is null or r.next_attempt_at <= ${now}) ${skipList}
      order by r.test_run_id, r.id
      limit 1
      for update of r skip locked
      for share of t skip locked
      for share of n`.execute(trx);
    return r.rows[0];
  }
  const r = await sql<Candidate>`
    select r.id, r.campaign_id as owner_id, r.campaign_id, r.contact_id, r.chat_id, r.message_type, r.endpoint,
           r.rendered_payload, r.fallback_endpoint, r.fallback_payload, r.used_fallback, r.attempts, n.opted_out, n.suppressed
    from send_queue r
    join campaigns c on c.id = r.campaign_id
    join number_blocks n on n.chat_id = r.chat_id
    where c.waha_session = ${session} and c.status = 'RUNNING'
      and r.status = 'PENDING' and (r.next_attempt_at is null or r.next_attempt_at <= ${now}) ${skipList}
    order by r.campaign_id, r.id
    limit 1
    for update of r skip locked
    for share of c skip locked
    for share of n`.execute(trx);
  return r.rows[0];
}

/**
 * promise 4 and 5, decided under locks right before the row is taken. The candidate query holds
 * the owner (campaign or test run) and the row's number FOR SHARE, and Postgres re-reads locked
 * rows at their latest committed version and re-checks `status = 'RUNNING'` on it: a pause,
 * cancel, opt-out or suppression that committed is seen, and one that starts now waits for this
 * claim. So no extra round trip is needed to re-read them. The number is locked WITHOUT skip: an
 * opt-out in progress is waited for (its transaction never waits on recipient rows: it passes over
 * locked ones), then seen, and the row is SKIPPED rather than left PENDING.
 */
function recheck(c: Candidate): { ok: true } | { ok: false; skip: 'suppressed' | 'opted_out'; reason: string } {
  if (c.opted_out) return { ok: false, skip: 'opted_out', reason: 'number opted out' };
  if (c.suppressed) return { ok: false, skip: 'suppressed', reason: 'number is suppressed' };
  return { ok: true };
}

export interface ClaimOptions {
  worker: string;
  settings: Settings;
  rng: () => number;
  /** A hold whose worker has not beaten its heart for this long (or restarted since) is lifted. */
  heartbeatStaleMs?: number;
}

/**
 * Whether the worker holding the session is gone: no heartbeat within `staleMs`, stopped, or
 * started again since it took the hold. Lifting a hold is always safe (send-slot.ts: a live
 * holder's startSend then fails and it sends nothing), so this only decides how soon a session
 * left held by a killed worker sends again.
 */
async function holderIsGone(trx: Transaction<Database>, row: PacingRow, now: Date, staleMs: number): Promise<boolean> {
  if (!row.in_flight_by || !row.in_flight_until || row.in_flight_by === 'preview') return false;
  const heldSince = new Date(row.in_flight_until.getTime() - START_BUDGET_MS);
  const hb = await trx.selectFrom('worker_heartbeats').select(['last_seen_at', 'started_at', 'state']).where('name', '=', row.in_flight_by).executeTakeFirst();
  return !hb || hb.state === 'stopped' || new Date(hb.last_seen_at).getTime() < now.getTime() - staleMs || new Date(hb.started_at) > heldSince;
}

/**
 * One claim transaction (promise 1 and 2): lock the session's pacing row, which serialises every
 * worker on every machine for this session; check window, days, the calendar-day count, the
 * rolling-hour count, the drawn delay and the block pause; take one row with SKIP LOCKED; re-check
 * its campaign or test run, suppression and opt-out; mark it SENDING and count the send; commit.
 * Only after this commits does the caller call WAHA, so a crash leaves a SENDING row (later
 * UNKNOWN), never a silent re-send.
 */
export async function claimNext(ctx: Context, session: string, options: ClaimOptions): Promise<ClaimResult> {
  const now = ctx.clock.now();
  return ctx.db.transaction().execute(async (trx) => {
    let locked = await lockSessionPacing(trx, session);
    const held = locked.in_flight_until !== null && locked.in_flight_until > now;
    if (held && options.heartbeatStaleMs !== undefined && (await holderIsGone(trx, locked, now, options.heartbeatStaleMs))) {
      await liftDeadHolds(trx, [locked.in_flight_by!], now);
      locked = { ...locked, in_flight_until: null, in_flight_by: null };
    }
    const state = await loadPacingState(trx, session, options.settings, now, locked);
    if (state.notWorkingReason) {
      return {
        kind: 'blocked',
        reason: 'session_not_working',
        until: new Date(now.getTime() + options.settings.poll_interval_seconds * 1000),
        message: `session ${session} is not working: ${state.notWorkingReason}`,
      } as const;
    }
    const decision = decidePacing(state, options.settings, now);
    if (!decision.ok) return { kind: 'blocked', reason: decision.reason, until: decision.until, message: decision.message } as const;

    const skipped: Record<RecipientKind, number[]> = { test: [], campaign: [] };
    for (const kind of ['test', 'campaign'] as const) {
      for (let guard = 0; guard < 100; guard++) {
        const c = await nextCandidate(trx, kind, session, now, skipped[kind]);
        if (!c) break;
        const check = recheck(c);
        if (!check.ok) {
          // promise 4: opted out or suppressed after the queue was built or the run snapshotted: never sent.
          await sql`update ${recipientTable(kind)} set status = 'SKIPPED', skip_reason = ${check.skip}, next_attempt_at = null, updated_at = ${now} where id = ${c.id}`.execute(trx);
          await recordWorkerEvent(trx, {
            at: now, event: check.skip === 'opted_out' ? 'opted_out' : 'skipped', worker: options.worker, session, campaignId: c.campaign_id,
            ...(kind === 'campaign' ? { queueId: c.id } : { testRunId: c.owner_id, testRecipientId: c.id }), status: 'SKIPPED', reason: check.reason,
          });
          skipped[kind].push(c.id);
          continue;
        }
        const next = afterSend(state, options.settings, now, options.rng);
        // promise 1: the session is held until this request leaves; its delay (and the block pause)
        // then run from that moment (send-slot.ts, startSend).
        const holdUntil = holdUntilFor(now);
        const queueId = kind === 'campaign' ? c.id : null;
        const testRecipientId = kind === 'test' ? c.id : null;
        // One statement for the four writes of a claim (fewer round trips while the session lock
        // is held): the row becomes SENDING, the send counts toward the limits from this moment
        // (promise 1), the session is held and the block stored, and the decision is recorded.
        const counted = await sql<{ id: number }>`
          with claimed as (
            update ${recipientTable(kind)} set status = 'SENDING', attempts = attempts + 1, claimed_at = ${now}, claimed_by = ${options.worker}, updated_at = ${now}
            where id = ${c.id} returning id
          ), counted as (
            insert into session_sends (session, at, kind, campaign_id, queue_id, test_recipient_id, chat_id)
            values (${session}, ${now}, ${kind}, ${c.campaign_id}, ${queueId}, ${testRecipientId}, ${c.chat_id})
            returning id
          ), paced as (
            update session_pacing set last_send_at = ${now}, next_allowed_at = ${next.nextAllowedAt}, in_flight_until = ${holdUntil}, in_flight_by = ${options.worker}, sends_in_block = ${next.sendsInBlock},
                   block_pause_until = ${next.blockPauseUntil}, updated_at = ${now}
            where session = ${session}
          ), logged as (
          insert into worker_events (at, event, worker, waha_session, campaign_id, test_run_id, queue_id, test_recipient_id, status, reason, next_attempt_at, details)
          values (${now}, 'claim', ${options.worker}, ${session}, ${c.campaign_id}, ${kind === 'test' ? c.owner_id : null}, ${queueId}, ${testRecipientId},
                  'SENDING', ${`attempt ${c.attempts + 1}`}, ${next.blockPauseUntil ?? next.nextAllowedAt},
                  ${JSON.stringify({ delaySeconds: next.delaySeconds, pauseMinutes: next.pauseMinutes ?? null })}::jsonb)
          )
          select id from counted`.execute(trx);
        return {
          kind: 'claimed',
          recipient: {
            kind,
            id: c.id,
            ownerId: c.owner_id,
            campaignId: c.campaign_id,
            contactId: c.contact_id,
            chatId: c.chat_id,
            session,
            messageType: c.message_type,
            endpoint: c.endpoint,
            payload: c.rendered_payload,
            fallbackEndpoint: c.fallback_endpoint,
            fallbackPayload: c.fallback_payload,
            fallbackOnly: c.used_fallback && c.fallback_endpoint !== null && c.fallback_payload !== null,
            attempts: c.attempts + 1,
            claimedAt: now,
            slot: {
              session,
              sessionSendId: Number(counted.rows[0]!.id),
              delaySeconds: next.delaySeconds,
              pauseSeconds: next.pauseSeconds ?? null,
              holdUntil,
              holder: options.worker,
            },
          },
        } as const;
      }
    }
    // Nothing sendable: whatever has no open row left completes (see completeFinishedOwners).
    await completeFinishedOwners(trx, session, now, options.worker);
    return { kind: 'idle' } as const;
  });
}
