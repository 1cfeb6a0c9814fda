// The ack rules, once (STYLE.md "One rule, one owner"). What a WAHA ack proves about a recipient
// row (queue and test run alike), as data: which ack numbers mean what, which state each state
// moves to, and which columns the move stamps. Two paths apply it and both are generated here:
// - the TypeScript path (advanceByAck in worker/apply-acks.ts: the send result, reconciliation,
//   the webhook's transactional path) runs ackUpdateStatement() with parameters;
// - the webhook's one-round-trip fast path runs the SQL function campaign_ingest_ack, whose text
//   is ingestAckFunctionSql(). A migration installs a frozen copy of that text (migrations are
//   immutable: a migration that imported this module would change under databases that already
//   ran it). tests/integration/ack-transitions.test.ts fails when the text generated here differs
//   from the latest migration's copy, and tells the developer to add a migration with the new text;
//   the same file runs every (state, ack) pair through both paths on real Postgres and compares.
import { type RawBuilder, sql } from 'kysely';
import { RECIPIENT_STATES, type RecipientState } from '../db/schema.js';

/** What an ack proves. PENDING (0) and SERVER (1) prove nothing the send result did not. */
export type AckOutcome = 'ERROR' | 'DEVICE' | 'READ';

/**
 * WAHA's ack enum (contract §7.7): ERROR=-1, PENDING=0, SERVER=1, DEVICE=2, READ=3, PLAYED=4.
 * In order: the first rule that matches wins. PLAYED (and any higher value) is read.
 */
export const ACK_OUTCOME_RULES: ReadonlyArray<{ outcome: AckOutcome; ack: { atLeast: number } | { equals: number } }> = [
  { outcome: 'READ', ack: { atLeast: 3 } },
  { outcome: 'DEVICE', ack: { equals: 2 } },
  { outcome: 'ERROR', ack: { equals: -1 } },
];

export function ackOutcome(ack: number | null | undefined): AckOutcome | null {
  if (ack === null || ack === undefined) return null;
  for (const r of ACK_OUTCOME_RULES) if ('atLeast' in r.ack ? ack >= r.ack.atLeast : ack === r.ack.equals) return r.outcome;
  return null;
}

/**
 * state × ack → new state, forward only (DESIGN.md "State"); a pair that is absent changes nothing.
 * - DELIVERED never goes back to accepted, READ never back to DELIVERED (a late DELIVERED is old news).
 * - ERROR (WhatsApp could not deliver: WEBJS `_data.isSendFailure`, GOWS receipt `server-error`,
 *   NOWEB Baileys ERROR; contract §6.4, §7.7) makes an accepted or UNKNOWN row FAILED, with WAHA's
 *   reason in last_error. An UNKNOWN row is proven to have reached WAHA by it, so FAILED is final:
 *   FAILED rows are never re-sent (promise 2).
 * - An ERROR after DELIVERED or READ changes nothing: the recipient's device already had the message
 *   (acks are neither ordered nor monotonic, §7.7), and a failure report cannot undo a delivery.
 * - For the same reason a DEVICE or READ after an ERROR moves the FAILED row on: proof of delivery
 *   outranks a failure report. (Only a row WAHA accepted carries a raw id, so a FAILED row that
 *   WAHA refused is never matched by an ack.) The order is SENT_API_ACCEPTED < FAILED < DELIVERED < READ.
 * - PENDING, PAUSED and SENDING rows have no result yet: the send result applies the stored acks
 *   when it lands (applyKnownAcks). SKIPPED rows were never sent.
 */
export const ACK_TRANSITIONS: Readonly<Record<RecipientState, Readonly<Partial<Record<AckOutcome, RecipientState>>>>> = {
  PENDING: {},
  PAUSED: {},
  SENDING: {},
  SENT_API_ACCEPTED: { ERROR: 'FAILED', DEVICE: 'DELIVERED', READ: 'READ' },
  UNKNOWN: { ERROR: 'FAILED', DEVICE: 'DELIVERED', READ: 'READ' },
  FAILED: { DEVICE: 'DELIVERED', READ: 'READ' },
  DELIVERED: { READ: 'READ' },
  READ: {},
  SKIPPED: {},
};

/**
 * What a move stamps: `set` columns get coalesce(column, at) (the first proof keeps its time),
 * `clear` columns become null, and a move to FAILED writes the ack's reason into last_error.
 */
export const ACK_STAMPS: Readonly<Record<'sent_at' | 'delivered_at' | 'read_at' | 'failed_at', { setOn: readonly RecipientState[]; clearOn?: readonly RecipientState[] }>> = {
  sent_at: { setOn: ['DELIVERED', 'READ', 'FAILED'] },
  delivered_at: { setOn: ['DELIVERED', 'READ'] },
  read_at: { setOn: ['READ'] },
  // A delivery proven after an ERROR: the row is no longer failed; last_error keeps what WAHA said.
  failed_at: { setOn: ['FAILED'], clearOn: ['DELIVERED', 'READ'] },
};
const REASON_ON: readonly RecipientState[] = ['FAILED'];

/** The new state of a row in `state` that gets `ack`, or null when the ack changes nothing. */
export function nextStateForAck(state: RecipientState, ack: number | null | undefined): RecipientState | null {
  const outcome = ackOutcome(ack);
  return outcome ? (ACK_TRANSITIONS[state][outcome] ?? null) : null;
}

/** Every (from, outcome, to) move, in a stable order (the generated SQL must not vary). */
export function ackTransitionList(): Array<{ from: RecipientState; outcome: AckOutcome; to: RecipientState }> {
  const out: Array<{ from: RecipientState; outcome: AckOutcome; to: RecipientState }> = [];
  for (const from of RECIPIENT_STATES) {
    for (const { outcome } of ACK_OUTCOME_RULES) {
      const to = ACK_TRANSITIONS[from][outcome];
      if (to) out.push({ from, outcome, to });
    }
  }
  return out;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const list = (xs: readonly string[]) => xs.map(lit).join(', ');

/** The SQL CASE that maps an ack number (the expression `ack`) to its outcome name, or null. */
function outcomeSql(ack: string): string {
  const whens = ACK_OUTCOME_RULES.map((r) => `when ${ack} ${'atLeast' in r.ack ? `>= ${r.ack.atLeast}` : `= ${r.ack.equals}`} then ${lit(r.outcome)}`);
  return `case ${whens.join(' ')} end`;
}

/**
 * One UPDATE that applies an ack to the rows of `table` matching `rows` (a condition on alias q).
 * `:outcome`, `:at` and `:reason` are placeholders: the SQL function puts its variables there and
 * the TypeScript path binds parameters (sqlWithParams).
 */
function ackUpdateText(table: 'send_queue' | 'campaign_test_run_recipients', rows: string): string {
  const values = ackTransitionList().map((t) => `(${lit(t.from)}, ${lit(t.outcome)}, ${lit(t.to)})`);
  const stamps = Object.entries(ACK_STAMPS).map(([col, rule]) => {
    const clear = rule.clearOn?.length ? ` when tr.to_state in (${list(rule.clearOn)}) then null` : '';
    return `${col} = case when tr.to_state in (${list(rule.setOn)}) then coalesce(q.${col}, :at)${clear} else q.${col} end`;
  });
  return [
    `update ${table} q`,
    `   set status = tr.to_state,`,
    ...stamps.map((s) => `       ${s},`),
    `       last_error = case when tr.to_state in (${list(REASON_ON)}) then coalesce(:reason, q.last_error) else q.last_error end,`,
    `       updated_at = :at`,
    `  from (values ${values.join(', ')}) as tr(from_state, outcome, to_state)`,
    ` where ${rows} and q.status = tr.from_state and tr.outcome = :outcome`,
  ].join('\n');
}

/** Splits `text` on :name placeholders and binds each to its value as a query parameter. */
function sqlWithParams(text: string, params: Record<string, unknown>): RawBuilder<unknown> {
  const parts = text.split(/:(outcome|at|reason|id)\b/);
  let out: RawBuilder<unknown> = sql.raw(parts[0]!);
  for (let i = 1; i < parts.length; i += 2) {
    out = sql`${out}${params[parts[i]!]}${sql.raw(parts[i + 1]!)}`;
  }
  return out;
}

/** The TypeScript path's statement: applies `ack` to one row; affects 0 or 1 row. */
export function ackUpdateStatement(table: 'send_queue' | 'campaign_test_run_recipients', id: number, ack: number | null, at: Date, reason: string | null): RawBuilder<unknown> | null {
  const outcome = ackOutcome(ack);
  if (!outcome) return null;
  return sqlWithParams(ackUpdateText(table, 'q.id = :id::bigint'), { id, outcome, at, reason });
}

const plpgsql = (text: string) =>
  text
    .replace(/:outcome\b/g, 'v_outcome').replace(/:at\b/g, 'p_received_at').replace(/:reason\b/g, 'p_reason')
    .split('\n').map((line) => `    ${line}`).join('\n');

/** The signature of the fast path's function (migrations drop older signatures by name). */
export const INGEST_ACK_FUNCTION_SIGNATURE = 'campaign_ingest_ack(text, text, text, timestamptz, text, text, text, boolean, integer, text)';

/**
 * The webhook's fast path (core/webhooks/store-and-apply-ack.ts): a `message.ack`, or our own
 * `message.any`, stored and applied in one function call. It keeps the promises of the
 * transactional path (ingest-waha-event.ts):
 * - promise 6: inserted once per envelope id (ON CONFLICT DO NOTHING); a duplicate does nothing.
 * - forward only, by ACK_TRANSITIONS above (generated into the UPDATEs).
 * - an ack that beats the send result: the raw-id advisory lock (lockRawId) is taken after the
 *   insert, and the lookup that follows is a new statement, so in READ COMMITTED it has a fresh
 *   snapshot that sees a send result committed while we waited; a send result waiting on our lock
 *   sees our stored event (applyKnownAcks).
 * - a `message.any` matching no row while the chat has an UNKNOWN row is not handled here: the
 *   function stores nothing and answers needs_reconcile, and the caller takes the transactional
 *   path (reconcileFromMessageAny), which locks and proves the row.
 */
export function ingestAckFunctionSql(): string {
  return `create or replace function campaign_ingest_ack(
  p_event_id text, p_event text, p_session text, p_received_at timestamptz, p_raw text,
  p_raw_id text, p_chat_id text, p_from_me boolean, p_ack integer, p_reason text
) returns table (message_event_id bigint, matched_rows integer, advanced integer, needs_reconcile boolean)
language plpgsql volatile as $fn$
declare
  v_id bigint;
  v_queue bigint[];
  v_test bigint[];
  v_outcome text;
  v_n integer;
  v_advanced integer := 0;
begin
  if p_event = 'message.any' then
    -- Reconciling an UNKNOWN row needs the full path; decide before storing anything.
    perform pg_advisory_xact_lock(hashtext('campaign.raw_id'), hashtext(p_raw_id));
    if p_chat_id is not null
       and not exists (select 1 from send_queue where waha_raw_id = p_raw_id)
       and not exists (select 1 from campaign_test_run_recipients where waha_raw_id = p_raw_id)
       and (exists (select 1 from send_queue where chat_id = p_chat_id and status = 'UNKNOWN')
            or exists (select 1 from campaign_test_run_recipients where chat_id = p_chat_id and status = 'UNKNOWN')) then
      return query select null::bigint, 0, 0, true;
      return;
    end if;
  end if;

  insert into message_events (event_id, event, session, received_at, raw, waha_raw_id, chat_id, from_me, ack, processed_at)
  values (p_event_id, p_event, p_session, p_received_at, p_raw, p_raw_id, p_chat_id, p_from_me, p_ack, p_received_at)
  on conflict (event_id) do nothing
  returning id into v_id;
  if v_id is null then
    return query select null::bigint, 0, 0, false; -- a duplicate delivery: nothing more
    return;
  end if;

  perform pg_advisory_xact_lock(hashtext('campaign.raw_id'), hashtext(p_raw_id));
  select coalesce(array_agg(id order by id), '{}') into v_queue from send_queue where waha_raw_id = p_raw_id;
  select coalesce(array_agg(id order by id), '{}') into v_test from campaign_test_run_recipients where waha_raw_id = p_raw_id;
  if cardinality(v_queue) + cardinality(v_test) = 0 then
    return query select v_id, 0, 0, false; -- kept; applied when the send result lands
    return;
  end if;

  v_outcome := ${outcomeSql('p_ack')};
  if v_outcome is not null then
${plpgsql(ackUpdateText('send_queue', 'q.id = any(v_queue)'))};
    get diagnostics v_n = row_count;
    v_advanced := v_n;
${plpgsql(ackUpdateText('campaign_test_run_recipients', 'q.id = any(v_test)'))};
    get diagnostics v_n = row_count;
    v_advanced := v_advanced + v_n;
  end if;

  -- As markMatched: the first campaign row, else the first test-run row.
  if cardinality(v_queue) > 0 then
    update message_events set matched = true, queue_id = v_queue[1] where id = v_id;
  else
    update message_events set matched = true, test_recipient_id = v_test[1] where id = v_id;
  end if;
  return query select v_id, cardinality(v_queue) + cardinality(v_test), v_advanced, false;
end
$fn$;`;
}
