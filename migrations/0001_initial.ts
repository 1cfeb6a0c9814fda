// The first schema: every table DESIGN.md names, with the states as check constraints so a bad
// state can never be written, whatever code path writes it. Later migrations add columns.
// DDL is written as SQL: kysely's schema builder cannot say triggers, partial indexes with
// predicates on enums, or check constraints over arrays any more clearly.
import { type Kysely, sql } from 'kysely';

const RECIPIENT_STATES = `'PENDING','PAUSED','SENDING','SENT_API_ACCEPTED','DELIVERED','READ','FAILED','SKIPPED','UNKNOWN'`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table settings (
      key text primary key,
      value jsonb not null,
      updated_at timestamptz not null default now(),
      updated_by text
    );

    -- promise 7: the audit log is append-only, enforced here and not in application code.
    create table admin_activity (
      id bigserial primary key,
      at timestamptz not null default now(),
      actor text not null,
      action text not null,
      entity_type text,
      entity_id text,
      campaign_id bigint,
      summary text not null,
      details jsonb not null default '{}'::jsonb
    );
    create index admin_activity_at on admin_activity (at desc);
    create index admin_activity_campaign on admin_activity (campaign_id, at desc);
    create function admin_activity_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'admin_activity is append-only: % is not allowed', tg_op using errcode = '42501';
    end $$;
    create trigger admin_activity_no_update before update or delete on admin_activity
      for each row execute function admin_activity_append_only();
    create trigger admin_activity_no_truncate before truncate on admin_activity
      for each statement execute function admin_activity_append_only();

    create table media_assets (
      id bigserial primary key,
      name text not null,
      kind text not null check (kind in ('image','audio','video','document')),
      mimetype text not null,
      size_bytes bigint not null check (size_bytes >= 0),
      sha256 text not null unique,
      storage_path text not null,
      original_filename text,
      created_at timestamptz not null default now(),
      created_by text
    );

    create table contacts (
      id bigserial primary key,
      crm_id text not null unique,
      name text,
      first_name text,
      phone_raw text,
      chat_id text,
      phone_valid boolean not null default false,
      phone_invalid_reason text,
      city text,
      source text,
      store_id text,
      brand text,
      registered_brands text[] not null default '{}',
      crm_updated_at timestamptz,
      crm_hash text,
      suppressed boolean not null default false,
      suppressed_reason text,
      suppressed_at timestamptz,
      opted_out boolean not null default false,
      opted_out_at timestamptz,
      opted_out_source text,
      first_imported_at timestamptz not null default now(),
      last_imported_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (phone_valid = (chat_id is not null))
    );
    create index contacts_chat_id on contacts (chat_id);
    create index contacts_brands on contacts using gin (registered_brands);

    create table test_users (
      id bigserial primary key,
      name text not null,
      phone_raw text not null,
      chat_id text not null unique,
      active boolean not null default true,
      notes text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table test_lists (
      id bigserial primary key,
      name text not null unique,
      description text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table test_list_members (
      test_list_id bigint not null references test_lists(id) on delete cascade,
      test_user_id bigint not null references test_users(id) on delete cascade,
      added_at timestamptz not null default now(),
      primary key (test_list_id, test_user_id)
    );

    create table campaigns (
      id bigserial primary key,
      name text not null,
      brand text not null,
      waha_session text not null default 'default',
      status text not null default 'DRAFT'
        check (status in ('DRAFT','APPROVED','RUNNING','PAUSED','COMPLETED','CANCELLED')),
      archived boolean not null default false,
      template_mode text not null check (template_mode in ('simple','advanced')),
      template_json jsonb not null,
      message_type text not null,
      media_asset_id bigint references media_assets(id),
      content_hash text not null,
      approved_at timestamptz,
      approved_by text,
      approved_content_hash text,
      content_frozen_at timestamptz,
      queue_built_at timestamptz,
      started_at timestamptz,
      paused_at timestamptz,
      pause_reason text,
      auto_paused boolean not null default false,
      completed_at timestamptz,
      cancelled_at timestamptz,
      cancel_reason text,
      duplicated_from bigint references campaigns(id) on delete set null,
      created_at timestamptz not null default now(),
      created_by text,
      updated_at timestamptz not null default now(),
      updated_by text,
      -- promise 3: an approved campaign carries the hash of what was approved.
      check (status = 'DRAFT' or status = 'CANCELLED' or approved_content_hash is not null)
    );
    create index campaigns_status on campaigns (status) where not archived;
    -- campaign apply finds "the DRAFT of that name": there can only be one.
    create unique index campaigns_one_draft_per_name on campaigns (name) where status = 'DRAFT' and not archived;

    create table send_queue (
      id bigserial primary key,
      campaign_id bigint not null references campaigns(id) on delete cascade,
      contact_id bigint not null references contacts(id),
      chat_id text not null,
      status text not null default 'PENDING' check (status in (${sql.raw(RECIPIENT_STATES)})),
      message_type text not null,
      endpoint text not null,
      rendered_payload jsonb not null,
      fallback_endpoint text,
      fallback_payload jsonb,
      used_fallback boolean not null default false,
      attempts integer not null default 0,
      next_attempt_at timestamptz,
      claimed_at timestamptz,
      claimed_by text,
      sent_at timestamptz,
      delivered_at timestamptz,
      read_at timestamptz,
      failed_at timestamptz,
      waha_message_id text,
      waha_raw_id text,
      last_error text,
      skip_reason text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      -- promise 2: one message per contact per campaign, and one per chat.
      unique (campaign_id, contact_id),
      unique (campaign_id, chat_id)
    );
    -- The claim walks only sendable rows (measured: 3x faster than an index on status alone).
    create index send_queue_pending on send_queue (campaign_id, id) where status = 'PENDING';
    create index send_queue_status on send_queue (campaign_id, status);
    create index send_queue_raw_id on send_queue (waha_raw_id) where waha_raw_id is not null;
    create index send_queue_chat on send_queue (chat_id, sent_at);

    create table queue_exclusions (
      id bigserial primary key,
      campaign_id bigint not null references campaigns(id) on delete cascade,
      contact_id bigint not null references contacts(id),
      chat_id text,
      reason text not null check (reason in ('invalid_phone','suppressed','opted_out','duplicate_chat_id','already_queued','frequency_cap')),
      detail text,
      created_at timestamptz not null default now(),
      unique (campaign_id, contact_id)
    );

    create table campaign_test_runs (
      id bigserial primary key,
      campaign_id bigint not null references campaigns(id) on delete cascade,
      test_list_id bigint references test_lists(id) on delete set null,
      test_list_name text not null,
      waha_session text not null,
      status text not null default 'PENDING' check (status in ('PENDING','RUNNING','PAUSED','COMPLETED','CANCELLED')),
      template_json jsonb not null,
      content_hash text not null,
      pause_reason text,
      created_at timestamptz not null default now(),
      created_by text,
      started_at timestamptz,
      paused_at timestamptz,
      completed_at timestamptz,
      cancelled_at timestamptz,
      updated_at timestamptz not null default now()
    );
    create index campaign_test_runs_campaign on campaign_test_runs (campaign_id, created_at desc);

    create table campaign_test_run_recipients (
      id bigserial primary key,
      test_run_id bigint not null references campaign_test_runs(id) on delete cascade,
      test_user_id bigint references test_users(id) on delete set null,
      name text not null,
      chat_id text not null,
      status text not null default 'PENDING' check (status in (${sql.raw(RECIPIENT_STATES)})),
      message_type text not null,
      endpoint text not null,
      rendered_payload jsonb not null,
      fallback_endpoint text,
      fallback_payload jsonb,
      used_fallback boolean not null default false,
      attempts integer not null default 0,
      next_attempt_at timestamptz,
      claimed_at timestamptz,
      claimed_by text,
      sent_at timestamptz,
      delivered_at timestamptz,
      read_at timestamptz,
      failed_at timestamptz,
      waha_message_id text,
      waha_raw_id text,
      last_error text,
      skip_reason text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (test_run_id, chat_id)
    );
    create index test_recipients_pending on campaign_test_run_recipients (test_run_id, id) where status = 'PENDING';
    create index test_recipients_raw_id on campaign_test_run_recipients (waha_raw_id) where waha_raw_id is not null;

    -- Pacing state per WAHA session: the claim locks this row, which serialises sends of one
    -- session across every worker process on every machine (promise 1).
    create table session_pacing (
      session text primary key,
      waha_status text,
      waha_status_at timestamptz,
      not_working_reason text,
      last_send_at timestamptz,
      next_allowed_at timestamptz,
      sends_in_block integer not null default 0,
      block_pause_until timestamptz,
      updated_at timestamptz not null default now()
    );

    -- Every send that left (or may have left) a session, counted for the daily and hourly limits.
    create table session_sends (
      id bigserial primary key,
      session text not null,
      at timestamptz not null,
      kind text not null check (kind in ('campaign','test','preview')),
      campaign_id bigint,
      queue_id bigint,
      test_recipient_id bigint,
      chat_id text
    );
    create index session_sends_session_at on session_sends (session, at);

    create table worker_events (
      id bigserial primary key,
      at timestamptz not null default now(),
      worker text,
      event text not null check (event in ('claim','sent','failed','retry','fallback','paused','resumed','outside_window',
        'daily_limit','hourly_limit','delay','block_pause','session_not_working','unknown_outcome','reconciled',
        'worker_error','idle','completed','worker_started','worker_stopped','skipped','opted_out')),
      waha_session text,
      campaign_id bigint,
      test_run_id bigint,
      queue_id bigint,
      test_recipient_id bigint,
      status text,
      reason text,
      message text,
      next_attempt_at timestamptz,
      details jsonb not null default '{}'::jsonb
    );
    create index worker_events_at on worker_events (at desc);
    create index worker_events_campaign on worker_events (campaign_id, id desc);
    create index worker_events_test_run on worker_events (test_run_id, id desc);

    create table worker_heartbeats (
      name text primary key,
      host text not null,
      pid integer not null,
      version text not null,
      started_at timestamptz not null,
      last_seen_at timestamptz not null,
      state text not null,
      detail text
    );

    -- promise 6: every authenticated webhook is stored raw, once per WAHA envelope id.
    create table message_events (
      id bigserial primary key,
      event_id text not null unique,
      event text not null,
      session text,
      received_at timestamptz not null default now(),
      raw text not null,
      waha_raw_id text,
      chat_id text,
      from_me boolean,
      ack integer,
      matched boolean not null default false,
      queue_id bigint,
      test_recipient_id bigint,
      processed_at timestamptz
    );
    create index message_events_raw_id on message_events (waha_raw_id) where waha_raw_id is not null;
    create index message_events_received on message_events (received_at desc);

    create table replies (
      id bigserial primary key,
      received_at timestamptz not null default now(),
      chat_id text not null,
      contact_id bigint references contacts(id),
      campaign_id bigint references campaigns(id) on delete set null,
      kind text not null check (kind in ('reply','opt_out','opt_in')),
      body text,
      message_event_id bigint references message_events(id)
    );
    create index replies_campaign on replies (campaign_id, received_at desc);

    -- Text made safe to splice into a JSON string literal: JSON escaping, plus "{{" written as
    -- "{\u007b" so a value can never form a template placeholder for a later substitution.
    create function campaign_json_fragment(value text) returns text
      language sql immutable parallel safe as $$
        select replace(substr(j, 2, length(j) - 2), '{{', '{\\u007b')
        from (select to_json(coalesce(value, ''))::text as j) s
      $$;

    create table notifications (
      id bigserial primary key,
      at timestamptz not null default now(),
      level text not null check (level in ('info','warning','error')),
      kind text not null,
      title text not null,
      body text,
      campaign_id bigint,
      test_run_id bigint,
      read_at timestamptz
    );
    create index notifications_at on notifications (at desc);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table if exists notifications, replies, message_events, worker_heartbeats, worker_events, session_sends,
      session_pacing, campaign_test_run_recipients, campaign_test_runs, queue_exclusions, send_queue, campaigns,
      test_list_members, test_lists, test_users, contacts, media_assets, admin_activity, settings cascade;
    drop function if exists admin_activity_append_only();
    drop function if exists campaign_json_fragment(text);
  `.execute(db);
}
