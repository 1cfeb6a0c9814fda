// `session.status`: WAHA's own word on a session, written where the worker's claim reads it
// (session_pacing.not_working_reason): a session that is not WORKING sends nothing until WAHA
// says WORKING again, which also wakes the workers.
import { sql, type Transaction } from 'kysely';
import { notifyWorkers } from '../campaigns/campaign-control.js';
import type { Database } from '../db/schema.js';

export interface SessionStatusEffect {
  session: string;
  status: string;
  previous: string | null;
}

/**
 * Last write wins, without ordering on event time: a status delivered out of order heals itself,
 * since a send on a session that is not WORKING gets a 422 that marks it again (record-outcome.ts)
 * and a held session is probed by the worker, which clears the mark once WAHA says WORKING.
 */
export async function updateSessionStatus(trx: Transaction<Database>, session: string, status: string, now: Date): Promise<SessionStatusEffect> {
  const working = status === 'WORKING';
  const reason = working ? null : `WAHA reports the session as ${status}${status === 'SCAN_QR_CODE' ? ': scan the QR code (or pair) in WAHA' : status === 'FAILED' ? ': restart it in WAHA, or log out and pair again' : ''}`;
  const before = await sql<{ waha_status: string | null }>`select waha_status from session_pacing where session = ${session}`.execute(trx);
  await sql`
    insert into session_pacing (session, waha_status, waha_status_at, not_working_reason, updated_at)
    values (${session}, ${status}, ${now}, ${reason}, ${now})
    on conflict (session) do update set waha_status = excluded.waha_status, waha_status_at = excluded.waha_status_at,
      not_working_reason = excluded.not_working_reason, updated_at = excluded.updated_at`.execute(trx);
  if (working) await notifyWorkers(trx, `session:${session}`);
  const previous = before.rows[0]?.waha_status ?? null;
  if (previous !== status && (!working || (previous !== null && previous !== 'WORKING'))) {
    await trx
      .insertInto('notifications')
      .values({
        at: now, level: working ? 'info' : 'warning', kind: working ? 'session_working' : 'session_not_working', campaign_id: null, test_run_id: null,
        title: working ? `Session ${session} is WORKING again` : `Session ${session} is ${status}`,
        body: reason,
      })
      .execute();
  }
  return { session, status, previous };
}
