// Table types for kysely, mirroring migrations/. int8 columns come back as numbers (see
// create-db.ts: ids and counts stay far below 2^53).
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<unknown, string, string>;

export const RECIPIENT_STATES = ['PENDING', 'PAUSED', 'SENDING', 'SENT_API_ACCEPTED', 'DELIVERED', 'READ', 'FAILED', 'SKIPPED', 'UNKNOWN'] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

export const CAMPAIGN_STATES = ['DRAFT', 'APPROVED', 'RUNNING', 'PAUSED', 'COMPLETED', 'CANCELLED'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

export const TEST_RUN_STATES = ['PENDING', 'RUNNING', 'PAUSED', 'COMPLETED', 'CANCELLED'] as const;
export type TestRunState = (typeof TEST_RUN_STATES)[number];

export interface SettingsTable {
  key: string;
  value: Json;
  updated_at: CreatedAt;
  updated_by: string | null;
}

export interface AdminActivityTable {
  id: Generated<number>;
  at: CreatedAt;
  actor: string;
  action: string;
  entity_type: string | null;
  entity_id: string | null;
  campaign_id: number | null;
  summary: string;
  details: Json;
}

export interface MediaAssetsTable {
  id: Generated<number>;
  name: string;
  kind: 'image' | 'audio' | 'video' | 'document';
  mimetype: string;
  size_bytes: number;
  sha256: string;
  storage_path: string;
  original_filename: string | null;
  created_at: CreatedAt;
  created_by: string | null;
}

export interface ContactsTable {
  id: Generated<number>;
  crm_id: string;
  name: string | null;
  first_name: string | null;
  phone_raw: string | null;
  chat_id: string | null;
  phone_valid: boolean;
  phone_invalid_reason: string | null;
  city: string | null;
  source: string | null;
  store_id: string | null;
  brand: string | null;
  registered_brands: ColumnType<string[], string[] | undefined, string[]>;
  crm_updated_at: Timestamp | null;
  crm_hash: string | null;
  suppressed: Generated<boolean>;
  suppressed_reason: string | null;
  suppressed_at: Timestamp | null;
  opted_out: Generated<boolean>;
  opted_out_at: Timestamp | null;
  opted_out_source: string | null;
  first_imported_at: CreatedAt;
  last_imported_at: CreatedAt;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

/** promise 4: the opt-out and suppression of one WhatsApp number (migration 0006): one row per known number. */
export interface NumberBlocksTable {
  chat_id: string;
  opted_out: Generated<boolean>;
  opted_out_at: Timestamp | null;
  opted_out_source: string | null;
  opted_out_contact_id: number | null;
  opted_out_keyword: string | null;
  suppressed: Generated<boolean>;
  suppressed_at: Timestamp | null;
  suppressed_reason: string | null;
  suppressed_contact_id: number | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface TestUsersTable {
  id: Generated<number>;
  name: string;
  phone_raw: string;
  chat_id: string;
  active: Generated<boolean>;
  notes: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface TestListsTable {
  id: Generated<number>;
  name: string;
  description: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface TestListMembersTable {
  test_list_id: number;
  test_user_id: number;
  added_at: CreatedAt;
}

export interface CampaignsTable {
  id: Generated<number>;
  name: string;
  brand: string;
  waha_session: string;
  status: ColumnType<CampaignState, CampaignState | undefined, CampaignState>;
  archived: Generated<boolean>;
  template_mode: 'simple' | 'advanced';
  template_json: Json;
  message_type: string;
  media_asset_id: number | null;
  content_hash: string;
  approved_at: Timestamp | null;
  approved_by: string | null;
  approved_content_hash: string | null;
  content_frozen_at: Timestamp | null;
  queue_built_at: Timestamp | null;
  started_at: Timestamp | null;
  paused_at: Timestamp | null;
  pause_reason: string | null;
  auto_paused: Generated<boolean>;
  completed_at: Timestamp | null;
  cancelled_at: Timestamp | null;
  cancel_reason: string | null;
  duplicated_from: number | null;
  created_at: CreatedAt;
  created_by: string | null;
  updated_at: CreatedAt;
  updated_by: string | null;
}

interface RecipientColumns {
  id: Generated<number>;
  chat_id: string;
  status: ColumnType<RecipientState, RecipientState | undefined, RecipientState>;
  message_type: string;
  endpoint: string;
  rendered_payload: Json;
  fallback_endpoint: string | null;
  fallback_payload: Json | null;
  used_fallback: Generated<boolean>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp | null;
  claimed_at: Timestamp | null;
  claimed_by: string | null;
  sent_at: Timestamp | null;
  delivered_at: Timestamp | null;
  read_at: Timestamp | null;
  failed_at: Timestamp | null;
  waha_message_id: string | null;
  waha_raw_id: string | null;
  last_error: string | null;
  skip_reason: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface SendQueueTable extends RecipientColumns {
  campaign_id: number;
  contact_id: number;
}

export interface CampaignTestRunRecipientsTable extends RecipientColumns {
  test_run_id: number;
  test_user_id: number | null;
  name: string;
}

export const EXCLUSION_REASONS = ['invalid_phone', 'suppressed', 'opted_out', 'duplicate_chat_id', 'already_queued', 'frequency_cap'] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

export interface QueueExclusionsTable {
  id: Generated<number>;
  campaign_id: number;
  contact_id: number;
  chat_id: string | null;
  reason: ExclusionReason;
  detail: string | null;
  created_at: CreatedAt;
}

export interface CampaignTestRunsTable {
  id: Generated<number>;
  campaign_id: number;
  test_list_id: number | null;
  test_list_name: string;
  waha_session: string;
  status: ColumnType<TestRunState, TestRunState | undefined, TestRunState>;
  template_json: Json;
  content_hash: string;
  pause_reason: string | null;
  created_at: CreatedAt;
  created_by: string | null;
  started_at: Timestamp | null;
  paused_at: Timestamp | null;
  completed_at: Timestamp | null;
  cancelled_at: Timestamp | null;
  updated_at: CreatedAt;
}

export interface SessionPacingTable {
  session: string;
  waha_status: string | null;
  waha_status_at: Timestamp | null;
  not_working_reason: string | null;
  last_send_at: Timestamp | null;
  next_allowed_at: Timestamp | null;
  sends_in_block: Generated<number>;
  block_pause_until: Timestamp | null;
  /** A send holds its session until its request has left (promise 1, send-slot.ts). */
  in_flight_until: Timestamp | null;
  /** Who holds it: a worker's name, or `preview`. */
  in_flight_by: string | null;
  updated_at: CreatedAt;
}

export interface SessionSendsTable {
  id: Generated<number>;
  session: string;
  at: Timestamp;
  kind: 'campaign' | 'test' | 'preview';
  campaign_id: number | null;
  queue_id: number | null;
  test_recipient_id: number | null;
  chat_id: string | null;
}

export const WORKER_EVENTS = [
  'claim', 'sent', 'failed', 'retry', 'fallback', 'paused', 'resumed', 'outside_window', 'daily_limit', 'hourly_limit', 'delay',
  'block_pause', 'session_not_working', 'unknown_outcome', 'reconciled', 'worker_error', 'idle', 'completed', 'worker_started',
  'worker_stopped', 'skipped', 'opted_out',
] as const;
export type WorkerEventName = (typeof WORKER_EVENTS)[number];

export interface WorkerEventsTable {
  id: Generated<number>;
  at: CreatedAt;
  worker: string | null;
  event: WorkerEventName;
  waha_session: string | null;
  campaign_id: number | null;
  test_run_id: number | null;
  queue_id: number | null;
  test_recipient_id: number | null;
  status: string | null;
  reason: string | null;
  message: string | null;
  next_attempt_at: Timestamp | null;
  details: Json;
}

export interface WorkerHeartbeatsTable {
  name: string;
  host: string;
  pid: number;
  version: string;
  started_at: Timestamp;
  last_seen_at: Timestamp;
  state: string;
  detail: string | null;
}

export interface MessageEventsTable {
  id: Generated<number>;
  event_id: string;
  event: string;
  session: string | null;
  received_at: CreatedAt;
  raw: string;
  waha_raw_id: string | null;
  chat_id: string | null;
  from_me: boolean | null;
  ack: number | null;
  matched: Generated<boolean>;
  queue_id: number | null;
  test_recipient_id: number | null;
  processed_at: Timestamp | null;
  /** Why acting on the event failed (it is stored all the same); migration 0002. */
  process_error: Generated<string | null>;
}

export interface RepliesTable {
  id: Generated<number>;
  received_at: CreatedAt;
  chat_id: string;
  contact_id: number | null;
  campaign_id: number | null;
  kind: 'reply' | 'opt_out' | 'opt_in';
  body: string | null;
  message_event_id: number | null;
}

export interface NotificationsTable {
  id: Generated<number>;
  at: CreatedAt;
  level: 'info' | 'warning' | 'error';
  kind: string;
  title: string;
  body: string | null;
  campaign_id: number | null;
  test_run_id: number | null;
  read_at: Timestamp | null;
}

export interface Database {
  settings: SettingsTable;
  admin_activity: AdminActivityTable;
  media_assets: MediaAssetsTable;
  contacts: ContactsTable;
  test_users: TestUsersTable;
  test_lists: TestListsTable;
  test_list_members: TestListMembersTable;
  campaigns: CampaignsTable;
  send_queue: SendQueueTable;
  queue_exclusions: QueueExclusionsTable;
  campaign_test_runs: CampaignTestRunsTable;
  campaign_test_run_recipients: CampaignTestRunRecipientsTable;
  session_pacing: SessionPacingTable;
  session_sends: SessionSendsTable;
  worker_events: WorkerEventsTable;
  worker_heartbeats: WorkerHeartbeatsTable;
  message_events: MessageEventsTable;
  replies: RepliesTable;
  notifications: NotificationsTable;
  number_blocks: NumberBlocksTable;
}
