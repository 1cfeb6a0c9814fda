// worker_events: every decision the worker makes, with its reason and next attempt, so "why is
// nothing sending?" is answered from the database rather than from process logs.
import type { Kysely, Transaction } from 'kysely';
import type { Database, WorkerEventName } from '../db/schema.js';

export interface WorkerEvent {
  event: WorkerEventName;
  worker?: string | null;
  session?: string | null;
  campaignId?: number | null;
  testRunId?: number | null;
  queueId?: number | null;
  testRecipientId?: number | null;
  status?: string | null;
  reason?: string | null;
  message?: string | null;
  nextAttemptAt?: Date | null;
  details?: Record<string, unknown>;
  at: Date;
}

export async function recordWorkerEvent(db: Kysely<Database> | Transaction<Database>, e: WorkerEvent): Promise<void> {
  await db
    .insertInto('worker_events')
    .values({
      at: e.at,
      event: e.event,
      worker: e.worker ?? null,
      waha_session: e.session ?? null,
      campaign_id: e.campaignId ?? null,
      test_run_id: e.testRunId ?? null,
      queue_id: e.queueId ?? null,
      test_recipient_id: e.testRecipientId ?? null,
      status: e.status ?? null,
      reason: e.reason ?? null,
      message: e.message ?? null,
      next_attempt_at: e.nextAttemptAt ?? null,
      details: JSON.stringify(e.details ?? {}),
    })
    .execute();
}
