// promise 1: a claim (or a one-time preview) holds its session until its request has left and the
// send is re-timed to that moment (src/core/worker/send-slot.ts). The hold is its own column, not
// a far-off next_allowed_at, so a reader can tell "a send is in flight" from "the drawn delay";
// in_flight_by names the holder, so a dead worker's hold can be lifted when its rows are recovered.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table session_pacing add column in_flight_until timestamptz, add column in_flight_by text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table session_pacing drop column if exists in_flight_until, drop column if exists in_flight_by`.execute(db);
}
