// promise 4: a WhatsApp number's opt-out and suppression (number_blocks, migration 0006). Every
// query on that table outside the claim (worker/claim-next.ts) and the queue build lives here.
//
// Lock order, for every writer: the number row first (lockNumber), then contact rows. The claim
// locks only the number row (FOR SHARE), so an opt-out holding it is waited for and then seen,
// and the claim never waits on anything an opt-out holds while the opt-out waits on it.
import { type Selectable, sql, type Transaction } from 'kysely';
import type { Db } from '../context.js';
import type { Database, NumberBlocksTable } from '../db/schema.js';

export interface NumberBlock {
  chatId: string;
  optedOut: boolean;
  optedOutAt: string | null;
  /** 'operator' or 'keyword' (or what an older row said). */
  optedOutSource: string | null;
  /** The contact row it was recorded on; null when the number itself sent the keyword. */
  optedOutContactId: number | null;
  optedOutKeyword: string | null;
  suppressed: boolean;
  suppressedAt: string | null;
  suppressedReason: string | null;
  suppressedContactId: number | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toNumberBlock(r: Selectable<NumberBlocksTable>): NumberBlock {
  return {
    chatId: r.chat_id,
    optedOut: r.opted_out,
    optedOutAt: iso(r.opted_out_at),
    optedOutSource: r.opted_out_source,
    optedOutContactId: r.opted_out_contact_id === null ? null : Number(r.opted_out_contact_id),
    optedOutKeyword: r.opted_out_keyword,
    suppressed: r.suppressed,
    suppressedAt: iso(r.suppressed_at),
    suppressedReason: r.suppressed_reason,
    suppressedContactId: r.suppressed_contact_id === null ? null : Number(r.suppressed_contact_id),
  };
}

export async function findNumberBlock(db: Db | Transaction<Database>, chatId: string): Promise<NumberBlock | undefined> {
  const row = await db.selectFrom('number_blocks').selectAll().where('chat_id', '=', chatId).executeTakeFirst();
  return row ? toNumberBlock(row) : undefined;
}

/** The blocked numbers among these, by chat id (numbers that are not blocked are left out). */
export async function findBlockedNumbers(db: Db | Transaction<Database>, chatIds: string[]): Promise<Map<string, NumberBlock>> {
  if (chatIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('number_blocks')
    .selectAll()
    .where('chat_id', '=', sql<string>`any(${[...new Set(chatIds)]}::text[])`)
    .where((eb) => eb.or([eb('opted_out', '=', true), eb('suppressed', '=', true)]))
    .execute();
  return new Map(rows.map((r) => [r.chat_id, toNumberBlock(r)]));
}

/** Locks the number's row FOR UPDATE, creating it on first use. Take it before any contact row of the number. */
export async function lockNumber(trx: Transaction<Database>, chatId: string, now: Date): Promise<NumberBlock> {
  await trx.insertInto('number_blocks').values({ chat_id: chatId, created_at: now, updated_at: now }).onConflict((oc) => oc.column('chat_id').doNothing()).execute();
  return toNumberBlock(await trx.selectFrom('number_blocks').selectAll().where('chat_id', '=', chatId).forUpdate().executeTakeFirstOrThrow());
}

/** Records the number's opt-out (the caller holds lockNumber). An existing opt-out keeps what it says. */
export async function optOutNumber(
  trx: Transaction<Database>,
  chatId: string,
  o: { at: Date; source: 'operator' | 'keyword'; contactId: number | null; keyword: string | null },
): Promise<void> {
  await trx
    .updateTable('number_blocks')
    .set({ opted_out: true, opted_out_at: o.at, opted_out_source: o.source, opted_out_contact_id: o.contactId, opted_out_keyword: o.keyword, updated_at: o.at })
    .where('chat_id', '=', chatId)
    .where('opted_out', '=', false)
    .execute();
}

/**
 * Lifts the number's opt-out, on the number and on every contact row with it (the rows' flags
 * would otherwise block the number again). Suppression is left alone: START and opt-in lift only
 * the person's own opt-out, never an operator's suppression. `alsoContactId` covers a contact
 * without a valid number. Returns the contact ids whose row changed.
 */
export async function liftOptOut(trx: Transaction<Database>, chatId: string | null, now: Date, alsoContactId?: number): Promise<number[]> {
  if (!chatId && alsoContactId === undefined) return [];
  if (chatId) {
    await trx
      .updateTable('number_blocks')
      .set({ opted_out: false, opted_out_at: null, opted_out_source: null, opted_out_contact_id: null, opted_out_keyword: null, updated_at: now })
      .where('chat_id', '=', chatId)
      .execute();
  }
  const rows = await trx
    .updateTable('contacts')
    .set({ opted_out: false, opted_out_at: null, opted_out_source: null, updated_at: now })
    .where('opted_out', '=', true)
    .where((eb) => eb.or([...(chatId ? [eb('chat_id', '=', chatId)] : []), ...(alsoContactId !== undefined ? [eb('id', '=', alsoContactId)] : [])]))
    .returning('id')
    .execute();
  return rows.map((r) => Number(r.id));
}

/** Lifts the number's suppression, on the number and every contact row with it (see liftOptOut). */
export async function liftSuppression(trx: Transaction<Database>, chatId: string | null, now: Date, alsoContactId?: number): Promise<number[]> {
  if (!chatId && alsoContactId === undefined) return [];
  if (chatId) {
    await trx
      .updateTable('number_blocks')
      .set({ suppressed: false, suppressed_at: null, suppressed_reason: null, suppressed_contact_id: null, updated_at: now })
      .where('chat_id', '=', chatId)
      .execute();
  }
  const rows = await trx
    .updateTable('contacts')
    .set({ suppressed: false, suppressed_at: null, suppressed_reason: null, updated_at: now })
    .where('suppressed', '=', true)
    .where((eb) => eb.or([...(chatId ? [eb('chat_id', '=', chatId)] : []), ...(alsoContactId !== undefined ? [eb('id', '=', alsoContactId)] : [])]))
    .returning('id')
    .execute();
  return rows.map((r) => Number(r.id));
}

export interface NumberHolder {
  id: number;
  name: string | null;
}

/** Everyone who has this number: contacts (oldest first) and test users. */
export async function holdersOfNumber(db: Db | Transaction<Database>, chatId: string): Promise<{ contacts: NumberHolder[]; testUsers: NumberHolder[] }> {
  const [contacts, testUsers] = await Promise.all([
    db.selectFrom('contacts').select(['id', 'name']).where('chat_id', '=', chatId).orderBy('id').limit(50).execute(),
    db.selectFrom('test_users').select(['id', 'name']).where('chat_id', '=', chatId).orderBy('id').execute(),
  ]);
  return { contacts: contacts.map((c) => ({ id: Number(c.id), name: c.name })), testUsers: testUsers.map((u) => ({ id: Number(u.id), name: u.name })) };
}

/**
 * The phone number behind a hidden LID (`<n>@lid`), learned from our own messages: when WhatsApp
 * addresses a chat by its LID, the acks and `message.any` of a message we sent to `<digits>@c.us`
 * come back with the LID as their chat and the same raw id (contract §7.8). Undefined when no
 * message of ours to that LID has been seen.
 */
export async function numberForLid(db: Db | Transaction<Database>, lid: string): Promise<string | undefined> {
  const r = await sql<{ chat_id: string }>`
    select chat_id from (
      (select q.chat_id, e.received_at from message_events e join send_queue q on q.waha_raw_id = e.waha_raw_id
        where e.chat_id = ${lid} and e.chat_id like '%@lid' and q.chat_id like '%@c.us' order by e.received_at desc limit 1)
      union all
      (select r.chat_id, e.received_at from message_events e join campaign_test_run_recipients r on r.waha_raw_id = e.waha_raw_id
        where e.chat_id = ${lid} and e.chat_id like '%@lid' and r.chat_id like '%@c.us' order by e.received_at desc limit 1)
    ) s order by received_at desc limit 1`.execute(db);
  return r.rows[0]?.chat_id;
}

/** "opted out (sent "STOP" on WhatsApp)", "suppressed through contact #12: complaint": one line for warnings. */
export function describeBlock(b: NumberBlock): string {
  const parts: string[] = [];
  if (b.optedOut) {
    parts.push(
      b.optedOutSource === 'keyword'
        ? `opted out (sent ${b.optedOutKeyword ? `"${b.optedOutKeyword}"` : 'an opt-out keyword'} on WhatsApp)`
        : `opted out (${b.optedOutSource === 'operator' ? 'recorded by an operator' : (b.optedOutSource ?? 'source unknown')}${b.optedOutContactId !== null ? ` on contact #${b.optedOutContactId}` : ''})`,
    );
  }
  if (b.suppressed) parts.push(`suppressed${b.suppressedContactId !== null ? ` through contact #${b.suppressedContactId}` : ''}: ${b.suppressedReason ?? 'no reason given'}`);
  return parts.join(' and ') || 'not blocked';
}
