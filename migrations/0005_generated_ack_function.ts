// The ack rules from one table (issue 9, finding 16): campaign_ingest_ack, the webhook's one-round-
// trip fast path, regenerated from src/core/webhooks/ack-transitions.ts, and WAHA's ERROR ack (-1)
// recorded as a delivery failure (finding 13). The function gains p_reason (WAHA's account of an
// ERROR, kept in last_error), so the old signature is dropped first.
//
// Why a frozen copy and not an import of core: a migration must mean the same thing forever. Had
// this file called ingestAckFunctionSql(), a later change to the table would silently change
// what "0005" installs on a fresh database while databases that already ran it keep the old text.
// So the text below is the generator's output at the time of writing, and
// tests/integration/ack-transitions.test.ts compares the generator with the newest migration that
// exports INGEST_ACK_FUNCTION_SQL: when the table changes, that test fails and says to add a new
// migration (0006_…) exporting the new text and running it, as this one does.
import { type Kysely, sql } from 'kysely';
import * as m0003 from './0003_ingest_ack_function.js';

export const INGEST_ACK_FUNCTION_SQL = `
create or replace function campaign_ingest_ack(
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

  v_outcome := case when p_ack >= 3 then 'READ' when p_ack = 2 then 'DEVICE' when p_ack = -1 then 'ERROR' end;
  if v_outcome is not null then
    update send_queue q
       set status = tr.to_state,
           sent_at = case when tr.to_state in ('DELIVERED', 'READ', 'FAILED') then coalesce(q.sent_at, p_received_at) else q.sent_at end,
           delivered_at = case when tr.to_state in ('DELIVERED', 'READ') then coalesce(q.delivered_at, p_received_at) else q.delivered_at end,
           read_at = case when tr.to_state in ('READ') then coalesce(q.read_at, p_received_at) else q.read_at end,
           failed_at = case when tr.to_state in ('FAILED') then coalesce(q.failed_at, p_received_at) when tr.to_state in ('DELIVERED', 'READ') then null else q.failed_at end,
           last_error = case when tr.to_state in ('FAILED') then coalesce(p_reason, q.last_error) else q.last_error end,
           updated_at = p_received_at
      from (values ('SENT_API_ACCEPTED', 'READ', 'READ'), ('SENT_API_ACCEPTED', 'DEVICE', 'DELIVERED'), ('SENT_API_ACCEPTED', 'ERROR', 'FAILED'), ('DELIVERED', 'READ', 'READ'), ('FAILED', 'READ', 'READ'), ('FAILED', 'DEVICE', 'DELIVERED'), ('UNKNOWN', 'READ', 'READ'), ('UNKNOWN', 'DEVICE', 'DELIVERED'), ('UNKNOWN', 'ERROR', 'FAILED')) as tr(from_state, outcome, to_state)
     where q.id = any(v_queue) and q.status = tr.from_state and tr.outcome = v_outcome;
    get diagnostics v_n = row_count;
    v_advanced := v_n;
    update campaign_test_run_recipients q
       set status = tr.to_state,
           sent_at = case when tr.to_state in ('DELIVERED', 'READ', 'FAILED') then coalesce(q.sent_at, p_received_at) else q.sent_at end,
           delivered_at = case when tr.to_state in ('DELIVERED', 'READ') then coalesce(q.delivered_at, p_received_at) else q.delivered_at end,
           read_at = case when tr.to_state in ('READ') then coalesce(q.read_at, p_received_at) else q.read_at end,
           failed_at = case when tr.to_state in ('FAILED') then coalesce(q.failed_at, p_received_at) when tr.to_state in ('DELIVERED', 'READ') then null else q.failed_at end,
           last_error = case when tr.to_state in ('FAILED') then coalesce(p_reason, q.last_error) else q.last_error end,
           updated_at = p_received_at
      from (values ('SENT_API_ACCEPTED', 'READ', 'READ'), ('SENT_API_ACCEPTED', 'DEVICE', 'DELIVERED'), ('SENT_API_ACCEPTED', 'ERROR', 'FAILED'), ('DELIVERED', 'READ', 'READ'), ('FAILED', 'READ', 'READ'), ('FAILED', 'DEVICE', 'DELIVERED'), ('UNKNOWN', 'READ', 'READ'), ('UNKNOWN', 'DEVICE', 'DELIVERED'), ('UNKNOWN', 'ERROR', 'FAILED')) as tr(from_state, outcome, to_state)
     where q.id = any(v_test) and q.status = tr.from_state and tr.outcome = v_outcome;
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

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists campaign_ingest_ack(text, text, text, timestamptz, text, text, text, boolean, integer)`.execute(db);
  await sql.raw(INGEST_ACK_FUNCTION_SQL).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists campaign_ingest_ack(text, text, text, timestamptz, text, text, text, boolean, integer, text)`.execute(db);
  await m0003.up(db);
}
