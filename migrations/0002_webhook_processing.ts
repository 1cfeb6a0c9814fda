// The webhook receiver (issue 5): an event is stored raw even when acting on it failed (promise
// 6), and then says why in process_error so it can be found and acted on by hand.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table message_events add column process_error text;
    create index message_events_unprocessed on message_events (received_at) where processed_at is null;
    create index replies_chat on replies (chat_id, received_at desc);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index if exists replies_chat;
    drop index if exists message_events_unprocessed;
    alter table message_events drop column if exists process_error;
  `.execute(db);
}
