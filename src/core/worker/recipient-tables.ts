// Campaign queue rows and test-run recipients are the same kind of thing (a rendered message
// for one chat, with a state) in two tables. The worker treats them alike through this mapping.
import type { RecipientState } from '../db/schema.js';

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

/** States a row never leaves except by an operator (UNKNOWN) or an ack moving it forward. */
export const FINAL_STATES: readonly RecipientState[] = ['SENT_API_ACCEPTED', 'DELIVERED', 'READ', 'FAILED', 'SKIPPED'];

/** Rows that may still be sent: while any remain, a campaign is not complete. */
export const OPEN_STATES: readonly RecipientState[] = ['PENDING', 'PAUSED', 'SENDING'];

/** Forward-only order of delivery states (promise: a late DELIVERED never overwrites READ). */
export const DELIVERY_RANK: Partial<Record<RecipientState, number>> = { SENT_API_ACCEPTED: 1, DELIVERED: 2, READ: 3 };

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
  attempts: number;
  claimedAt: Date;
}
