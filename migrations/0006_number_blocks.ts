// promise 4: opt-out and suppression bind to the WhatsApp number (the chat id), not to one contact
// row. Two CRM rows with one number are one person, and a test user with that number is that
// person too; before this migration an opt-out was a flag on one contacts row, so a duplicate row
// was still queued and test runs were never checked.
//
// number_blocks holds one row per known number, blocked or not. Why a row for every number, and
// not only for blocked ones: the worker's claim joins it with an INNER join and locks it FOR SHARE
// (worker/claim-next.ts), so an opt-out that is updating it is waited for and then seen. A lock
// needs a row to exist: a LEFT join on a missing row locks nothing, and an opt-out inserting it
// would not be waited for. So every number that can be claimed has its row before its recipient
// row commits: a statement trigger on send_queue and campaign_test_run_recipients inserts it,
// whatever path the recipient rows come from (queue build, test run, a bench or a test fixture).
//
// A block recorded on a contact row (contacts.opted_out / suppressed, written by the contacts
// service, the webhook, the dashboard or anyone with SQL) binds its number through a row trigger,
// in the same transaction: the claim then sees the number blocked, and so does every other row of
// that number. Lifting a block is never implicit: only `contacts unsuppress` / `opt-in` and the
// START keyword lift it, for the number and every row of it (core/contacts/number-block.repository.ts).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table number_blocks (
      chat_id text primary key,
      opted_out boolean not null default false,
      opted_out_at timestamptz,
      -- 'operator' (contacts opt-out, dashboard), 'keyword' (an inbound STOP), or what the row said
      opted_out_source text,
      -- The contact row the opt-out was recorded on; null when the number itself sent the keyword.
      opted_out_contact_id bigint references contacts(id) on delete set null,
      opted_out_keyword text,
      suppressed boolean not null default false,
      suppressed_at timestamptz,
      suppressed_reason text,
      suppressed_contact_id bigint references contacts(id) on delete set null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index number_blocks_blocked on number_blocks (chat_id) where opted_out or suppressed;

    -- Every number already known, then the blocks already recorded on contact rows (the oldest wins).
    insert into number_blocks (chat_id)
      select chat_id from contacts where chat_id is not null
      union select chat_id from test_users
      union select chat_id from send_queue
      union select chat_id from campaign_test_run_recipients
    on conflict do nothing;
    update number_blocks n
       set opted_out = true, opted_out_at = c.opted_out_at, opted_out_source = c.opted_out_source, opted_out_contact_id = c.id
      from (select distinct on (chat_id) id, chat_id, opted_out_at, opted_out_source from contacts
             where opted_out and chat_id is not null order by chat_id, opted_out_at nulls last, id) c
     where n.chat_id = c.chat_id;
    update number_blocks n
       set suppressed = true, suppressed_at = c.suppressed_at, suppressed_reason = c.suppressed_reason, suppressed_contact_id = c.id
      from (select distinct on (chat_id) id, chat_id, suppressed_at, suppressed_reason from contacts
             where suppressed and chat_id is not null order by chat_id, suppressed_at nulls last, id) c
     where n.chat_id = c.chat_id;

    -- The row the claim locks exists for every recipient row (see the top of this file).
    create function campaign_ensure_number_rows() returns trigger language plpgsql as $fn$
    begin
      insert into number_blocks (chat_id) select distinct chat_id from new_rows where chat_id is not null
      on conflict do nothing;
      return null;
    end $fn$;
    create trigger send_queue_number_rows after insert on send_queue
      referencing new table as new_rows for each statement execute function campaign_ensure_number_rows();
    create trigger test_recipients_number_rows after insert on campaign_test_run_recipients
      referencing new table as new_rows for each statement execute function campaign_ensure_number_rows();

    -- promise 4: a block written on a contact row blocks its number. An existing block keeps what
    -- it says (when, why, through which row), unless it was recorded through this same row.
    create function campaign_contact_blocks_number() returns trigger language plpgsql as $fn$
    declare
      v_moved boolean := tg_op = 'UPDATE' and old.chat_id is distinct from new.chat_id;
    begin
      if new.chat_id is null then return null; end if;
      if new.opted_out and (tg_op = 'INSERT' or v_moved or not old.opted_out) then
        insert into number_blocks as n (chat_id, opted_out, opted_out_at, opted_out_source, opted_out_contact_id, updated_at)
        values (new.chat_id, true, coalesce(new.opted_out_at, new.updated_at), new.opted_out_source, new.id, new.updated_at)
        on conflict (chat_id) do update
          set opted_out = true, opted_out_at = excluded.opted_out_at, opted_out_source = excluded.opted_out_source,
              opted_out_contact_id = excluded.opted_out_contact_id, opted_out_keyword = null, updated_at = excluded.updated_at
          where not n.opted_out;
      end if;
      if new.suppressed and (tg_op = 'INSERT' or v_moved or not old.suppressed or old.suppressed_reason is distinct from new.suppressed_reason) then
        insert into number_blocks as n (chat_id, suppressed, suppressed_at, suppressed_reason, suppressed_contact_id, updated_at)
        values (new.chat_id, true, coalesce(new.suppressed_at, new.updated_at), new.suppressed_reason, new.id, new.updated_at)
        on conflict (chat_id) do update
          set suppressed = true, suppressed_at = coalesce(n.suppressed_at, excluded.suppressed_at), suppressed_reason = excluded.suppressed_reason,
              suppressed_contact_id = excluded.suppressed_contact_id, updated_at = excluded.updated_at
          where not n.suppressed or n.suppressed_contact_id = excluded.suppressed_contact_id;
      end if;
      return null;
    end $fn$;
    create trigger contacts_block_number after insert or update of opted_out, suppressed, suppressed_reason, chat_id on contacts
      for each row when (new.opted_out or new.suppressed) execute function campaign_contact_blocks_number();

    -- An inbound STOP from a hidden LID (\`<n>@lid\`) is mapped to the number we sent to through
    -- our own messages' acks, which carry the LID chat: this index serves that lookup.
    create index message_events_lid_chat on message_events (chat_id) where chat_id like '%@lid';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index if exists message_events_lid_chat;
    drop trigger if exists contacts_block_number on contacts;
    drop function if exists campaign_contact_blocks_number();
    drop trigger if exists test_recipients_number_rows on campaign_test_run_recipients;
    drop trigger if exists send_queue_number_rows on send_queue;
    drop function if exists campaign_ensure_number_rows();
    drop table if exists number_blocks;
  `.execute(db);
}
