// When a campaign or test run has no sendable row left it completes; when too many of a
// campaign's recent sends failed it pauses itself and says why.
import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Settings } from '../settings/settings.schema.js';
import { ownerColumn, ownerTable, type RecipientKind, recipientTable } from './recipient-tables.js';
import { recordWorkerEvent } from './worker-events.js';

export async function completeIfDone(trx: Transaction<Database>, kind: RecipientKind, ownerId: number, now: Date, worker: string): Promise<boolean> {
  const rows = recipientTable(kind);
  const owner = ownerTable(kind);
  const ownerCol = ownerColumn(kind);
  const done = await sql<{ id: number; unknown: number }>`
    update ${owner} set status = 'COMPLETED', completed_at = ${now}, updated_at = ${now}
    where id = ${ownerId} and status = 'RUNNING'
      and not exists (select 1 from ${rows} where ${ownerCol} = ${ownerId} and status in ('PENDING','PAUSED','SENDING'))
    returning id, (select count(*)::int from ${rows} where ${ownerCol} = ${ownerId} and status = 'UNKNOWN') as unknown`.execute(trx);
  const row = done.rows[0];
  if (!row) return false;
  const campaignId = kind === 'test' ? (await sql<{ campaign_id: number }>`select campaign_id from campaign_test_runs where id = ${ownerId}`.execute(trx)).rows[0]!.campaign_id : ownerId;
  const unknownNote = row.unknown > 0 ? `; ${row.unknown} send(s) have an unknown outcome: run \`campaign resolve ${campaignId} --resend|--skip\`` : '';
  await recordWorkerEvent(trx, {
    at: now, event: 'completed', worker, campaignId, testRunId: kind === 'test' ? ownerId : null, status: 'COMPLETED',
    reason: `no sendable row remains${unknownNote}`, details: { unknown: row.unknown },
  });
  await trx
    .insertInto('notifications')
    .values({
      at: now,
      level: row.unknown > 0 ? 'warning' : 'info',
      kind: kind === 'test' ? 'test_run_completed' : 'campaign_completed',
      title: kind === 'test' ? `Test run ${ownerId} completed` : `Campaign ${ownerId} completed`,
      body: `No sendable row remains${unknownNote}.`,
      campaign_id: campaignId,
      test_run_id: kind === 'test' ? ownerId : null,
    })
    .execute();
  return true;
}

/**
 * Fix: completion used to be checked only after a send was recorded, so a campaign or test run
 * whose last sendable rows were skipped at claim time (opted out, suppressed) or by an inbound
 * opt-out stayed RUNNING forever with nothing to send. The claim calls this when it finds no row.
 */
export async function completeFinishedOwners(trx: Transaction<Database>, session: string, now: Date, worker: string): Promise<number> {
  const owners = await sql<{ kind: RecipientKind; id: number }>`
    select 'campaign' as kind, c.id from campaigns c
     where c.waha_session = ${session} and c.status = 'RUNNING'
       and not exists (select 1 from send_queue q where q.campaign_id = c.id and q.status in ('PENDING','PAUSED','SENDING'))
    union all
    select 'test', t.id from campaign_test_runs t
     where t.waha_session = ${session} and t.status = 'RUNNING'
       and not exists (select 1 from campaign_test_run_recipients r where r.test_run_id = t.id and r.status in ('PENDING','PAUSED','SENDING'))`.execute(trx);
  let n = 0;
  for (const o of owners.rows) if (await completeIfDone(trx, o.kind, Number(o.id), now, worker)) n++;
  return n;
}

export async function autoPauseIfFailing(trx: Transaction<Database>, campaignId: number, settings: Settings, now: Date, worker: string): Promise<boolean> {
  const window = settings.failure_window_sends;
  const recent = await sql<{ n: number; failed: number }>`
    select count(*)::int as n, count(*) filter (where status = 'FAILED')::int as failed
    from (select status from send_queue where campaign_id = ${campaignId} and status in ('FAILED','SENT_API_ACCEPTED','DELIVERED','READ')
          order by updated_at desc limit ${window}) s`.execute(trx);
  const { n, failed } = recent.rows[0]!;
  if (n < window || failed / n < settings.failure_pause_threshold) return false;
  const reason = `auto-paused: ${failed} of the last ${n} sends failed (threshold ${Math.round(settings.failure_pause_threshold * 100)}%); check \`campaign logs --campaign ${campaignId} --event failed\`, then \`campaign resume ${campaignId}\``;
  const r = await sql`update campaigns set status = 'PAUSED', paused_at = ${now}, pause_reason = ${reason}, auto_paused = true, updated_at = ${now}
                      where id = ${campaignId} and status = 'RUNNING'`.execute(trx);
  if (Number(r.numAffectedRows ?? 0) === 0) return false;
  await recordWorkerEvent(trx, { at: now, event: 'paused', worker, campaignId, status: 'PAUSED', reason });
  await trx
    .insertInto('notifications')
    .values({ at: now, level: 'error', kind: 'campaign_auto_paused', title: `Campaign ${campaignId} auto-paused`, body: reason, campaign_id: campaignId })
    .execute();
  return true;
}
