// Every query on campaign_test_runs and campaign_test_run_recipients. `find*` returns undefined,
// `get*` throws TEST_RUN_NOT_FOUND, `lock*` takes a transaction and means FOR UPDATE.
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { CampaignTestRunRecipientsTable, CampaignTestRunsTable, Database, RecipientState, TestRunState } from '../db/schema.js';
import { CampaignError } from '../errors.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface TestRun {
  id: number;
  campaignId: number;
  campaignName: string;
  testListId: number | null;
  testListName: string;
  session: string;
  status: TestRunState;
  /** The template as it was when the run started (promise 3: never changes afterwards). */
  template: Record<string, unknown>;
  contentHash: string;
  pauseReason: string | null;
  createdAt: string;
  createdBy: string | null;
  startedAt: string | null;
  pausedAt: string | null;
  completedAt: string | null;
  cancelledAt: string | null;
  updatedAt: string;
}

export interface TestRunRecipient {
  id: number;
  testUserId: number | null;
  name: string;
  chatId: string;
  status: RecipientState;
  messageType: string;
  endpoint: string;
  payload: Record<string, unknown>;
  fallbackEndpoint: string | null;
  fallbackPayload: Record<string, unknown> | null;
  usedFallback: boolean;
  attempts: number;
  nextAttemptAt: string | null;
  claimedAt: string | null;
  sentAt: string | null;
  deliveredAt: string | null;
  readAt: string | null;
  failedAt: string | null;
  wahaMessageId: string | null;
  lastError: string | null;
  skipReason: string | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toTestRun(r: Selectable<CampaignTestRunsTable> & { campaign_name: string }): TestRun {
  return {
    id: r.id,
    campaignId: r.campaign_id,
    campaignName: r.campaign_name,
    testListId: r.test_list_id,
    testListName: r.test_list_name,
    session: r.waha_session,
    status: r.status,
    template: r.template_json as Record<string, unknown>,
    contentHash: r.content_hash,
    pauseReason: r.pause_reason,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    startedAt: iso(r.started_at),
    pausedAt: iso(r.paused_at),
    completedAt: iso(r.completed_at),
    cancelledAt: iso(r.cancelled_at),
    updatedAt: r.updated_at.toISOString(),
  };
}

export function toTestRunRecipient(r: Selectable<CampaignTestRunRecipientsTable>): TestRunRecipient {
  return {
    id: r.id,
    testUserId: r.test_user_id,
    name: r.name,
    chatId: r.chat_id,
    status: r.status,
    messageType: r.message_type,
    endpoint: r.endpoint,
    payload: r.rendered_payload as Record<string, unknown>,
    fallbackEndpoint: r.fallback_endpoint,
    fallbackPayload: (r.fallback_payload ?? null) as Record<string, unknown> | null,
    usedFallback: r.used_fallback,
    attempts: r.attempts,
    nextAttemptAt: iso(r.next_attempt_at),
    claimedAt: iso(r.claimed_at),
    sentAt: iso(r.sent_at),
    deliveredAt: iso(r.delivered_at),
    readAt: iso(r.read_at),
    failedAt: iso(r.failed_at),
    wahaMessageId: r.waha_message_id,
    lastError: r.last_error,
    skipReason: r.skip_reason,
  };
}

function selectRuns(db: Db) {
  return db.selectFrom('campaign_test_runs as r').innerJoin('campaigns as c', 'c.id', 'r.campaign_id').selectAll('r').select('c.name as campaign_name');
}

/** Test runs are named by id only (`#12` or `12`): they have no name of their own. */
export function parseTestRunRef(ref: string | number): number | undefined {
  const text = String(ref).trim().replace(/^#/, '');
  return /^\d{1,15}$/.test(text) && Number(text) > 0 ? Number(text) : undefined;
}

function notFound(ref: string | number): CampaignError {
  return new CampaignError('TEST_RUN_NOT_FOUND', `No test run has id "${String(ref).trim()}". \`campaign test list\` shows them.`, { ref: String(ref) });
}

export async function findTestRun(db: Db, ref: string | number): Promise<TestRun | undefined> {
  const id = parseTestRunRef(ref);
  if (id === undefined) return undefined;
  const row = await selectRuns(db).where('r.id', '=', id).executeTakeFirst();
  return row ? toTestRun(row) : undefined;
}

export async function getTestRun(db: Db, ref: string | number): Promise<TestRun> {
  const run = await findTestRun(db, ref);
  if (!run) throw notFound(ref);
  return run;
}

/** FOR UPDATE on the run row: the worker's claim reads it FOR SHARE, so a state change here binds from the next claim (promise 5). */
export async function lockTestRun(trx: Transaction<Database>, ref: string | number): Promise<TestRun> {
  const id = parseTestRunRef(ref);
  if (id === undefined) throw notFound(ref);
  const locked = await trx.selectFrom('campaign_test_runs').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
  if (!locked) throw notFound(ref);
  return (await findTestRun(trx, id))!;
}

export async function countRecipientsByState(db: Db, runIds: number[]): Promise<Map<number, Partial<Record<RecipientState, number>>>> {
  const out = new Map<number, Partial<Record<RecipientState, number>>>();
  if (runIds.length === 0) return out;
  const rows = await db
    .selectFrom('campaign_test_run_recipients')
    .select(['test_run_id', 'status', sql<number>`count(*)::int`.as('n')])
    .where('test_run_id', 'in', runIds)
    .groupBy(['test_run_id', 'status'])
    .execute();
  for (const r of rows) out.set(r.test_run_id, { ...out.get(r.test_run_id), [r.status]: Number(r.n) });
  return out;
}

export async function recipientsOf(db: Db, runId: number): Promise<TestRunRecipient[]> {
  const rows = await db.selectFrom('campaign_test_run_recipients').selectAll().where('test_run_id', '=', runId).orderBy('id').execute();
  return rows.map(toTestRunRecipient);
}

export interface TestRunListFilter {
  campaignId?: number;
  limit?: number;
}

export async function listTestRunRows(db: Db, filter: TestRunListFilter = {}): Promise<TestRun[]> {
  let q = selectRuns(db);
  if (filter.campaignId !== undefined) q = q.where('r.campaign_id', '=', filter.campaignId);
  const rows = await q.orderBy('r.id', 'desc').limit(filter.limit ?? 200).execute();
  return rows.map(toTestRun);
}

/** Active members of a test list, oldest membership first: who a test run of the list reaches. */
export async function activeListMembers(db: Db, listId: number): Promise<Array<{ id: number; name: string; chatId: string }>> {
  const rows = await db
    .selectFrom('test_list_members as m')
    .innerJoin('test_users as u', 'u.id', 'm.test_user_id')
    .select(['u.id', 'u.name', 'u.chat_id'])
    .where('m.test_list_id', '=', listId)
    .where('u.active', '=', true)
    .orderBy('m.added_at')
    .orderBy('u.id')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, chatId: r.chat_id }));
}
