// `campaign test show <run>`: the run, its counts by state and every recipient.
import type { Kysely, Transaction } from 'kysely';
import type { Context } from '../context.js';
import type { Database, RecipientState } from '../db/schema.js';
import { countRecipientsByState, getTestRun, recipientsOf, type TestRun, type TestRunRecipient } from './test-run.repository.js';

export interface ShowTestRunResult {
  testRun: TestRun;
  counts: Partial<Record<RecipientState, number>>;
  total: number;
  recipients: TestRunRecipient[];
}

export async function showTestRunIn(db: Kysely<Database> | Transaction<Database>, ref: string | number): Promise<ShowTestRunResult> {
  const testRun = await getTestRun(db, ref);
  const counts = (await countRecipientsByState(db, [testRun.id])).get(testRun.id) ?? {};
  const recipients = await recipientsOf(db, testRun.id);
  return { testRun, counts, total: recipients.length, recipients };
}

export async function showTestRun(ctx: Context, ref: string): Promise<ShowTestRunResult> {
  return showTestRunIn(ctx.db, ref);
}
