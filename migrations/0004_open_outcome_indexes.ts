// Rows in flight (SENDING) and rows with an unknown outcome (UNKNOWN) are few, but they are looked
// for often: every worker's maintenance pass (recover-stale, reconcile-unknown, every 10 s) and
// every status snapshot (`campaign status`, the TUI each second). Without these partial indexes
// each of those reads scanned every queue row ever built; with them it reads only the few rows
// in those states.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index send_queue_sending on send_queue (claimed_at) where status = 'SENDING';
    create index send_queue_unknown on send_queue (updated_at, id) where status = 'UNKNOWN';
    create index test_recipients_sending on campaign_test_run_recipients (claimed_at) where status = 'SENDING';
    create index test_recipients_unknown on campaign_test_run_recipients (updated_at, id) where status = 'UNKNOWN';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index if exists test_recipients_unknown;
    drop index if exists test_recipients_sending;
    drop index if exists send_queue_unknown;
    drop index if exists send_queue_sending;
  `.execute(db);
}
