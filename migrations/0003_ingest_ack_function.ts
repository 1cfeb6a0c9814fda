// The webhook's common path in one round trip (issue 5, figures): a `message.ack`, or a
// `message.any` from us, is stored and applied by one function call instead of BEGIN, insert +
// lock, lookup, update, mark, COMMIT (six round trips for a known id, four for an unknown one).
// Measured with bench/webhook.ts; see core/webhooks/store-and-apply-ack.ts for the caller.
//
// It keeps the promises of the transactional path it replaces (ingest-waha-event.ts):
// - promise 6: inserted once per envelope id (ON CONFLICT DO NOTHING); a duplicate does nothing.
// - forward only: the same transitions as advanceByAck (core/worker/apply-acks.ts) — keep the
//   two in step: DEVICE (2) moves SENT_API_ACCEPTED/UNKNOWN to DELIVERED, READ (≥ 3) moves
//   SENT_API_ACCEPTED/DELIVERED/UNKNOWN to READ, never back.
// - an ack that beats the send result: the raw-id advisory lock (lockRawId) is taken after the
//   insert, and the lookup that follows is a new statement, so in READ COMMITTED it has a fresh
//   snapshot that sees a send result committed while we waited; a send result waiting on our lock
//   sees our stored event (applyKnownAcks).
// - a `message.any` matching no row while the chat has an UNKNOWN row is not handled here: the
//   function stores nothing and answers needs_reconcile, and the caller takes the transactional
//   path (reconcileFromMessageAny), which locks and proves the row.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function campaign_ingest_ack(
      p_event_id text, p_event text, p_session text, p_received_at timestamptz, p_raw text,
      p_raw_id text, p_chat_id text, p_from_me boolean, p_ack integer
    ) returns table (message_event_id bigint, matched_rows integer, advanced integer, needs_reconcile boolean)
    language plpgsql volatile as $fn$
    declare
      v_id bigint;
      v_queue bigint[];
      v_test bigint[];
      v_target text;
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

      v_target := case when p_ack >= 3 then 'READ' when p_ack = 2 then 'DELIVERED' end;
      if v_target is not null then
        update send_queue
           set status = v_target, delivered_at = coalesce(delivered_at, p_received_at),
               read_at = case when v_target = 'READ' then coalesce(read_at, p_received_at) else read_at end,
               sent_at = coalesce(sent_at, p_received_at), updated_at = p_received_at
         where id = any(v_queue)
           and status = any(case when v_target = 'READ' then array['SENT_API_ACCEPTED','DELIVERED','UNKNOWN'] else array['SENT_API_ACCEPTED','UNKNOWN'] end);
        get diagnostics v_n = row_count;
        v_advanced := v_n;
        update campaign_test_run_recipients
           set status = v_target, delivered_at = coalesce(delivered_at, p_received_at),
               read_at = case when v_target = 'READ' then coalesce(read_at, p_received_at) else read_at end,
               sent_at = coalesce(sent_at, p_received_at), updated_at = p_received_at
         where id = any(v_test)
           and status = any(case when v_target = 'READ' then array['SENT_API_ACCEPTED','DELIVERED','UNKNOWN'] else array['SENT_API_ACCEPTED','UNKNOWN'] end);
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
    $fn$;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists campaign_ingest_ack(text, text, text, timestamptz, text, text, text, boolean, integer)`.execute(db);
}
