// The queries behind reports: what is being reported on, counts by state, and one page of
// recipients. Campaign rows (send_queue) and test-run rows (campaign_test_run_recipients) share
// their recipient columns, so both read the same columns under the alias `q`.
import { type Kysely, sql, type Transaction } from 'kysely';
import { getCampaignId } from '../campaigns/campaign.repository.js';
import type { Database, RecipientState } from '../db/schema.js';
import { CampaignError } from '../errors.js';

type Db = Kysely<Database> | Transaction<Database>;

export type ReportTarget = { campaignId: number | string } | { testRunId: number | string };

export interface CampaignReportHeader {
  id: number;
  name: string;
  brand: string;
  session: string;
  status: string;
  messageType: string;
  archived: boolean;
}

export interface TestRunReportHeader {
  id: number;
  campaignId: number;
  campaignName: string;
  testListName: string;
  session: string;
  status: string;
  createdAt: string;
}

export type ReportHeader = { kind: 'campaign'; campaign: CampaignReportHeader } | { kind: 'testRun'; testRun: TestRunReportHeader };

export async function getReportHeader(db: Db, target: ReportTarget): Promise<ReportHeader> {
  if ('campaignId' in target) {
    const id = await getCampaignId(db, target.campaignId);
    const c = await db.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return {
      kind: 'campaign',
      campaign: { id: c.id, name: c.name, brand: c.brand, session: c.waha_session, status: c.status, messageType: c.message_type, archived: c.archived },
    };
  }
  const text = String(target.testRunId).trim();
  const row = /^\d{1,15}$/.test(text)
    ? await db
        .selectFrom('campaign_test_runs as r')
        .innerJoin('campaigns as c', 'c.id', 'r.campaign_id')
        .select(['r.id', 'r.campaign_id', 'c.name', 'r.test_list_name', 'r.waha_session', 'r.status', 'r.created_at'])
        .where('r.id', '=', Number(text))
        .executeTakeFirst()
    : undefined;
  if (!row) {
    throw new CampaignError('TEST_RUN_NOT_FOUND', `No test run has id "${text}". \`campaign test list\` shows them.`, { ref: text });
  }
  return {
    kind: 'testRun',
    testRun: {
      id: row.id,
      campaignId: row.campaign_id,
      campaignName: row.name,
      testListName: row.test_list_name,
      session: row.waha_session,
      status: row.status,
      createdAt: row.created_at.toISOString(),
    },
  };
}

export async function countRecipientsByStatus(db: Db, header: ReportHeader): Promise<Record<string, number>> {
  const rows =
    header.kind === 'campaign'
      ? await db
          .selectFrom('send_queue')
          .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
          .where('campaign_id', '=', header.campaign.id)
          .groupBy('status')
          .execute()
      : await db
          .selectFrom('campaign_test_run_recipients')
          .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
          .where('test_run_id', '=', header.testRun.id)
          .groupBy('status')
          .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export interface ReportRow {
  id: number;
  name: string | null;
  chat_id: string;
  message_type: string;
  endpoint: string;
  used_fallback: boolean;
  status: RecipientState;
  attempts: number;
  waha_message_id: string | null;
  error: string | null;
  claimed_at: Date | null;
  sent_at: Date | null;
  delivered_at: Date | null;
  read_at: Date | null;
  failed_at: Date | null;
  payload_summary: string;
}

/**
 * promise 3: the payload that left. A row whose fallback was sent (after a 501) reports the
 * fallback's endpoint and payload, never the buttons message WhatsApp did not show; the endpoint
 * column and the summary read this one rule.
 */
const SENT_PAYLOAD_SQL = `(case when q.used_fallback and q.fallback_payload is not null then q.fallback_payload else q.rendered_payload end)`;
const SENT_ENDPOINT_SQL = `(case when q.used_fallback and q.fallback_endpoint is not null then q.fallback_endpoint else q.endpoint end)`;

/**
 * What a person recognises a message by, computed in the database so the payload (which can
 * be large) never crosses the wire: the first 80 characters, whitespace folded, of the text,
 * caption, poll question, buttons body, list title, location title or contact card name, else
 * the file name, of the payload that was sent (SENT_PAYLOAD_SQL). Base64 `file.data` is never read.
 */
export const PAYLOAD_SUMMARY_SQL = `left(btrim(regexp_replace(coalesce(
    nullif(${SENT_PAYLOAD_SQL}->>'text', ''),
    nullif(${SENT_PAYLOAD_SQL}->>'caption', ''),
    ${SENT_PAYLOAD_SQL}->'poll'->>'name',
    nullif(${SENT_PAYLOAD_SQL}->>'body', ''),
    ${SENT_PAYLOAD_SQL}->'message'->>'title',
    ${SENT_PAYLOAD_SQL}->>'title',
    ${SENT_PAYLOAD_SQL}->'contacts'->0->>'fullName',
    ${SENT_PAYLOAD_SQL}->'file'->>'filename',
    ${SENT_PAYLOAD_SQL}->'file'->>'url',
    ''), '\\s+', ' ', 'g')), 80)`;
const payloadSummary = sql<string>`${sql.raw(PAYLOAD_SUMMARY_SQL)}`;

/**
 * One page of recipients after `afterId`, in id order. Keyset pagination (`id > last`) instead
 * of OFFSET or a cursor: each page is an index range scan whatever the depth, memory stays one
 * page, and no server-side cursor (pg-cursor is not a dependency) is needed.
 */
export async function reportPage(db: Db, header: ReportHeader, afterId: number, limit: number): Promise<ReportRow[]> {
  const endpoint = sql<string>`${sql.raw(SENT_ENDPOINT_SQL)}`.as('endpoint');
  const error = sql<string | null>`coalesce(q.last_error, q.skip_reason)`.as('error');
  const columns = [
    'q.id',
    'q.chat_id',
    'q.message_type',
    'q.used_fallback',
    'q.status',
    'q.attempts',
    'q.waha_message_id',
    'q.claimed_at',
    'q.sent_at',
    'q.delivered_at',
    'q.read_at',
    'q.failed_at',
  ] as const;
  if (header.kind === 'campaign') {
    return db
      .selectFrom('send_queue as q')
      .leftJoin('contacts as c', 'c.id', 'q.contact_id')
      .select([...columns, 'c.name as name', endpoint, error, payloadSummary.as('payload_summary')])
      .where('q.campaign_id', '=', header.campaign.id)
      .where('q.id', '>', afterId)
      .orderBy('q.id')
      .limit(limit)
      .execute();
  }
  return db
    .selectFrom('campaign_test_run_recipients as q')
    .select([...columns, 'q.name', endpoint, error, payloadSummary.as('payload_summary')])
    .where('q.test_run_id', '=', header.testRun.id)
    .where('q.id', '>', afterId)
    .orderBy('q.id')
    .limit(limit)
    .execute();
}
