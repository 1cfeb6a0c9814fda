// Every query on test_lists and test_list_members.
import { type Selectable, sql, type Transaction } from 'kysely';
import type { Db } from '../context.js';
import type { Database, TestListsTable } from '../db/schema.js';

export interface TestList {
  id: number;
  name: string;
  description: string | null;
  members: number;
  /** Members whose test user is active: who a test run of this list would reach. */
  activeMembers: number;
  createdAt: string;
  updatedAt: string;
}

export interface TestListMember {
  id: number;
  name: string;
  phone: string;
  chatId: string;
  active: boolean;
  addedAt: string;
}

type Executor = Db | Transaction<Database>;

function selectLists(db: Executor) {
  return db
    .selectFrom('test_lists as l')
    .selectAll('l')
    .select([
      sql<string>`(select count(*) from test_list_members m where m.test_list_id = l.id)`.as('members'),
      sql<string>`(select count(*) from test_list_members m join test_users u on u.id = m.test_user_id where m.test_list_id = l.id and u.active)`.as('active_members'),
    ]);
}

function toTestList(r: Selectable<TestListsTable> & { members: string | number; active_members: string | number }): TestList {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    members: Number(r.members),
    activeMembers: Number(r.active_members),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export async function findTestListById(db: Executor, id: number): Promise<TestList | undefined> {
  if (!Number.isSafeInteger(id) || id < 1) return undefined;
  const row = await selectLists(db).where('l.id', '=', id).executeTakeFirst();
  return row ? toTestList(row) : undefined;
}

/** Names compare case-insensitively, so "QA" and "qa" cannot both exist by accident. */
export async function findTestListByName(db: Executor, name: string): Promise<TestList | undefined> {
  const row = await selectLists(db).where(sql<string>`lower(l.name)`, '=', name.toLowerCase()).orderBy('l.id').executeTakeFirst();
  return row ? toTestList(row) : undefined;
}

export async function listTestListRows(db: Executor): Promise<TestList[]> {
  return (await selectLists(db).orderBy('l.name').execute()).map(toTestList);
}

/** FOR UPDATE on the list row: membership changes of one list are serialised. */
export async function lockTestList(trx: Transaction<Database>, id: number): Promise<void> {
  await trx.selectFrom('test_lists').select('id').where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
}

export async function membersOf(db: Executor, listId: number): Promise<TestListMember[]> {
  const rows = await db
    .selectFrom('test_list_members as m')
    .innerJoin('test_users as u', 'u.id', 'm.test_user_id')
    .select(['u.id', 'u.name', 'u.phone_raw', 'u.chat_id', 'u.active', 'm.added_at'])
    .where('m.test_list_id', '=', listId)
    .orderBy('u.name')
    .orderBy('u.id')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, phone: r.phone_raw, chatId: r.chat_id, active: r.active, addedAt: r.added_at.toISOString() }));
}
