// Campaign queue rows and test-run recipients are the same kind of thing (a rendered message
// for one chat, with a state) in two tables. The worker treats them alike through this mapping.
import { sql } from 'kysely';
import type { RecipientState } from '../db/schema.js';
import type { SendSlot } from './send-slot.js';

export type RecipientKind = 'campaign' | 'test';

export const RECIPIENT_TABLE = {
  campaign: 'send_queue',
  test: 'campaign_test_run_recipients',
} as const satisfies Record<RecipientKind, string>;

export const OWNER_TABLE = {
  campaign: 'campaigns',
  test: 'campaign_test_runs',
} as const satisfies Record<RecipientKind, string>;

export const OWNER_COLUMN = {
  campaign: 'campaign_id',
  test: 'test_run_id',
} as const satisfies Record<RecipientKind, string>;

/** The column naming a recipient row in session_sends, worker_events and message_events. */
export const ROW_ID_COLUMN = {
  campaign: 'queue_id',
  test: 'test_recipient_id',
} as const satisfies Record<RecipientKind, string>;

/** The same mappings as SQL fragments, for the worker's raw statements. */
export const recipientTable = (kind: RecipientKind) => sql.table(RECIPIENT_TABLE[kind]);
export const ownerTable = (kind: RecipientKind) => sql.table(OWNER_TABLE[kind]);
export const ownerColumn = (kind: RecipientKind) => sql.ref(OWNER_COLUMN[kind]);
export const rowIdColumn = (kind: RecipientKind) => sql.ref(ROW_ID_COLUMN[kind]);

/** States a row never leaves except by an operator (UNKNOWN) or an ack moving it forward. */
export const FINAL_STATES: readonly RecipientState[] = ['SENT_API_ACCEPTED', 'DELIVERED', 'READ', 'FAILED', 'SKIPPED'];

export interface ClaimedRecipient {
  kind: RecipientKind;
  id: number;
  /** campaign id or test run id */
  ownerId: number;
  campaignId: number;
  contactId: number | null;
  chatId: string;
  session: string;
  messageType: string;
  endpoint: string;
  payload: Record<string, unknown>;
  fallbackEndpoint: string | null;
  fallbackPayload: Record<string, unknown> | null;
  /** WAHA answered 501 for the main message on an earlier attempt: only the fallback is sent. */
  fallbackOnly: boolean;
  attempts: number;
  claimedAt: Date;
  /** What the claim reserved on the session (promise 1), settled when the request has left. */
  slot: SendSlot;
}
