// Every migration, in order. A static list (not a folder scan) so the compiled CLI needs no
// file-system lookups and a missing file is a build error, not a runtime surprise.
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_webhook_processing.js';
import * as m0003 from './0003_ingest_ack_function.js';
import * as m0004 from './0004_open_outcome_indexes.js';
import * as m0005 from './0005_generated_ack_function.js';
import * as m0006 from './0006_number_blocks.js';
import * as m0007 from './0007_app_role_grants.js';
import * as m0008 from './0008_session_in_flight.js';
import * as m0009 from './0009_media_refs_and_filter_keys.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_webhook_processing': m0002,
  '0003_ingest_ack_function': m0003,
  '0004_open_outcome_indexes': m0004,
  '0005_generated_ack_function': m0005,
  '0006_number_blocks': m0006,
  '0007_app_role_grants': m0007,
  '0008_session_in_flight': m0008,
  '0009_media_refs_and_filter_keys': m0009,
};
