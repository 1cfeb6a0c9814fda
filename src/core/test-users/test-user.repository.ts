// Every query on test_users. Test users are internal recipients for test runs: they live only
// here, never in contacts, so no campaign audience or queue build can ever reach them.
import { type Selectable, sql, type Transaction } from 'kysely';
import type { Db } from '../context.js';
import type { Database, TestUsersTable } from '../db/schema.js';

export interface TestUser {
  id: number;
  name: string;
  /** As given: a full international number. */
  phone: string;
  chatId: string;
  active: boolean;
  notes: string | null;
  /** Names of the test lists the user is in. */
  lists: string[];
  createdAt: string;
  updatedAt: string;
}

type Executor = Db | Transaction<Database>;

export function toTestUser(r: Selectable<TestUsersTable>, lists: string[] = []): TestUser {
  return {
    id: r.id,
    name: r.name,
    phone: r.phone_raw,
    chatId: r.chat_id,
    active: r.active,
    notes: r.notes,
    lists,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** List names per user id. */
async function listsOf(db: Executor, ids: number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom('test_list_members as m')
    .innerJoin('test_lists as l', 'l.id', 'm.test_list_id')
    .select(['m.test_user_id', 'l.name'])
    .where('m.test_user_id', 'in', ids)
    .orderBy('l.name')
    .execute();
  for (const r of rows) out.set(r.test_user_id, [...(out.get(r.test_user_id) ?? []), r.name]);
  return out;
}

async function withLists(db: Executor, rows: Array<Selectable<TestUsersTable>>): Promise<TestUser[]> {
  const lists = await listsOf(db, rows.map((r) => r.id));
  return rows.map((r) => toTestUser(r, lists.get(r.id) ?? []));
}

export async function findTestUserById(db: Executor, id: number): Promise<TestUser | undefined> {
  if (!Number.isSafeInteger(id) || id < 1) return undefined;
  const row = await db.selectFrom('test_users').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? (await withLists(db, [row]))[0] : undefined;
}

export async function findTestUserByChatId(db: Executor, chatId: string): Promise<TestUser | undefined> {
  const row = await db.selectFrom('test_users').selectAll().where('chat_id', '=', chatId).executeTakeFirst();
  return row ? (await withLists(db, [row]))[0] : undefined;
}

/** Names compare case-insensitively: "asha" finds "Asha". */
export async function findTestUsersByName(db: Executor, name: string): Promise<TestUser[]> {
  const rows = await db.selectFrom('test_users').selectAll().where(sql<string>`lower(name)`, '=', name.toLowerCase()).orderBy('id').execute();
  return withLists(db, rows);
}

export async function listTestUserRows(db: Executor, filter: { active?: boolean } = {}): Promise<TestUser[]> {
  let q = db.selectFrom('test_users').selectAll();
  if (filter.active !== undefined) q = q.where('active', '=', filter.active);
  return withLists(db, await q.orderBy('name').orderBy('id').execute());
}

/** FOR UPDATE: the caller is about to change or delete the user. */
export async function lockTestUser(trx: Transaction<Database>, id: number): Promise<TestUser> {
  const row = await trx.selectFrom('test_users').selectAll().where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
  return (await withLists(trx, [row]))[0]!;
}
