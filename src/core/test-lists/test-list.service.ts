// Test lists: named groups of test users that a test run sends to. Only active users can join a
// list; a list outside 10-50 active members is allowed but warned about. Each mutation runs in one
// transaction with its audit row; a broken rule anywhere (an unknown or inactive user among many)
// leaves nothing written.
import type { Transaction } from 'kysely';
import { z } from 'zod';
import { recordActivity } from '../audit/audit.repository.js';
import type { Context, Db } from '../context.js';
import type { Database } from '../db/schema.js';
import { CampaignError, isUniqueViolation, parseWith } from '../errors.js';
import type { TestUser } from '../test-users/test-user.repository.js';
import { resolveTestUser } from '../test-users/test-user.service.js';
import {
  findTestListById,
  findTestListByName,
  listTestListRows,
  lockTestList,
  membersOf,
  type TestList,
  type TestListMember,
} from './test-list.repository.js';

export const MIN_SUGGESTED_MEMBERS = 10;
export const MAX_SUGGESTED_MEMBERS = 50;

/** The size advice for a list: empty when it has 10 to 50 active members. */
export function sizeWarnings(list: Pick<TestList, 'name' | 'members' | 'activeMembers'>): string[] {
  const out: string[] = [];
  const n = list.activeMembers;
  if (n < MIN_SUGGESTED_MEMBERS) {
    out.push(
      `Test list "${list.name}" has ${n} active member(s), below ${MIN_SUGGESTED_MEMBERS}: a test run tells more with ${MIN_SUGGESTED_MEMBERS}-${MAX_SUGGESTED_MEMBERS} people on different phones (\`campaign test-lists add "${list.name}" <user...>\`).`,
    );
  } else if (n > MAX_SUGGESTED_MEMBERS) {
    out.push(
      `Test list "${list.name}" has ${n} active members, above ${MAX_SUGGESTED_MEMBERS}: every test message counts toward the session's daily limit, so a test run this big eats into real sending; keep test lists to ${MIN_SUGGESTED_MEMBERS}-${MAX_SUGGESTED_MEMBERS}.`,
    );
  }
  if (list.members > n) out.push(`Test list "${list.name}" has ${list.members - n} inactive member(s); they are shown but are not active test users.`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// input and lookup

const createSchema = z.strictObject({
  name: z.string({ error: 'is required' }).trim().min(1, 'cannot be empty').max(100, 'must be at most 100 characters'),
  description: z.string().trim().max(500, 'must be at most 500 characters').optional(),
});

export type TestListCreateInput = z.input<typeof createSchema>;

/** `#id`, an id, or a name (case-insensitive). */
export async function resolveTestList(db: Db | Transaction<Database>, ref: string): Promise<TestList> {
  const text = ref.trim();
  if (text === '') throw new CampaignError('USAGE', 'Name the test list by its id or its name.');
  const explicitId = /^#\d+$/.test(text);
  const byId = explicitId || /^\d+$/.test(text) ? await findTestListById(db, Number(text.replace(/^#/, ''))) : undefined;
  const byName = explicitId ? undefined : await findTestListByName(db, text);
  if (byId && byName && byId.id !== byName.id) {
    throw new CampaignError('AMBIGUOUS_REFERENCE', `"${text}" is the id of list "${byId.name}" and the name of list #${byName.id}. Write #${byId.id} for the first.`, {
      ref: text,
      testListIds: [byId.id, byName.id],
    });
  }
  const list = byId ?? byName;
  if (!list) throw new CampaignError('TEST_LIST_NOT_FOUND', `No test list has the id or name "${text}". \`campaign test-lists list\` shows them all.`, { ref: text });
  return list;
}

async function resolveUsers(trx: Transaction<Database>, refs: string[]): Promise<TestUser[]> {
  if (refs.length === 0) throw new CampaignError('USAGE', 'Name at least one test user (id, name or phone).');
  const users = new Map<number, TestUser>();
  const missing: string[] = [];
  for (const ref of refs) {
    try {
      const u = await resolveTestUser(trx, ref);
      users.set(u.id, u);
    } catch (e) {
      if (e instanceof CampaignError && e.code === 'TEST_USER_NOT_FOUND') missing.push(ref);
      else throw e;
    }
  }
  if (missing.length > 0) {
    throw new CampaignError(
      'TEST_USER_NOT_FOUND',
      `No test user has the id, name or phone ${missing.map((m) => `"${m}"`).join(', ')}; nothing was changed. \`campaign test-users list\` shows them; \`campaign test-users add\` adds one.`,
      { refs: missing },
    );
  }
  return [...users.values()];
}

// ---------------------------------------------------------------------------------------------
// results

export interface TestListResult {
  list: TestList;
  warnings: string[];
}

export interface TestListDetail extends TestListResult {
  members: TestListMember[];
}

export interface MembershipResult extends TestListResult {
  /** Users this call added (or removed). */
  changed: Array<{ id: number; name: string }>;
  /** Users that were already members (add) or were not members (remove): nothing to do. */
  unchanged: Array<{ id: number; name: string }>;
}

const brief = (u: { id: number; name: string }) => ({ id: u.id, name: u.name });

// ---------------------------------------------------------------------------------------------
// commands

export async function createTestList(ctx: Context, input: TestListCreateInput): Promise<TestListResult> {
  const data = parseWith(createSchema, input, 'VALIDATION_FAILED', 'The test list is not valid');
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      const existing = await findTestListByName(trx, data.name);
      if (existing) {
        throw new CampaignError('ALREADY_EXISTS', `A test list named "${existing.name}" already exists (#${existing.id}). Choose another name, or add users to it with \`campaign test-lists add "${existing.name}" <user...>\`.`, {
          field: 'name',
          testListId: existing.id,
        });
      }
      const now = ctx.clock.now();
      const row = await trx
        .insertInto('test_lists')
        .values({ name: data.name, description: data.description || null, created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      const list = (await findTestListById(trx, row.id))!;
      await recordActivity(
        trx,
        { actor: ctx.actor, action: 'test_list.create', entityType: 'test_list', entityId: list.id, summary: `Created test list #${list.id} "${list.name}"`, details: { name: list.name, description: list.description } },
        ctx.config,
      );
      return { list, warnings: sizeWarnings(list) };
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new CampaignError('ALREADY_EXISTS', `A test list named "${data.name}" was just created by someone else. Choose another name.`, { field: 'name' });
    throw e;
  }
}

/** The shared tail of add and remove: when any user changed, the list's updated_at and one audit row. */
async function finishMembershipChange(
  ctx: Context,
  trx: Transaction<Database>,
  listId: number,
  users: TestUser[],
  changedIds: Set<number>,
  kind: 'add' | 'remove',
  now: Date,
): Promise<MembershipResult> {
  const changed = users.filter((u) => changedIds.has(u.id)).map(brief);
  const unchanged = users.filter((u) => !changedIds.has(u.id)).map(brief);
  if (changed.length > 0) await trx.updateTable('test_lists').set({ updated_at: now }).where('id', '=', listId).execute();
  const list = (await findTestListById(trx, listId))!;
  if (changed.length > 0) {
    const names = changed.map((u) => u.name).join(', ');
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: kind === 'add' ? 'test_list.add_members' : 'test_list.remove_members',
        entityType: 'test_list',
        entityId: list.id,
        summary:
          kind === 'add'
            ? `Added ${changed.length} test user(s) to list "${list.name}": ${names}`
            : `Removed ${changed.length} test user(s) from list "${list.name}": ${names}`,
        details: kind === 'add' ? { added: changed, members: list.members } : { removed: changed, members: list.members },
      },
      ctx.config,
    );
  }
  return { list, changed, unchanged, warnings: sizeWarnings(list) };
}

/** Adds users to a list: all of them or none. Every user must exist and be active. */
export async function addTestListMembers(ctx: Context, listRef: string, userRefs: string[]): Promise<MembershipResult> {
  return ctx.db.transaction().execute(async (trx) => {
    const target = await resolveTestList(trx, listRef);
    await lockTestList(trx, target.id);
    const users = await resolveUsers(trx, userRefs);
    // FOR SHARE: a concurrent deactivation waits for this transaction, and this one sees its result.
    const locked = await trx.selectFrom('test_users').select(['id', 'name', 'active']).where('id', 'in', users.map((u) => u.id)).forShare().execute();
    const inactive = locked.filter((u) => !u.active);
    if (inactive.length > 0) {
      throw new CampaignError(
        'TEST_USER_INACTIVE',
        `Only active test users can be added to a list; ${inactive.map((u) => `#${u.id} "${u.name}"`).join(', ')} ${inactive.length > 1 ? 'are' : 'is'} deactivated, so nothing was added. Activate with \`campaign test-users activate <user>\` first, or leave ${inactive.length > 1 ? 'them' : 'it'} out.`,
        { testUserIds: inactive.map((u) => u.id) },
      );
    }
    const now = ctx.clock.now();
    const inserted = await trx
      .insertInto('test_list_members')
      .values(users.map((u) => ({ test_list_id: target.id, test_user_id: u.id, added_at: now })))
      .onConflict((oc) => oc.columns(['test_list_id', 'test_user_id']).doNothing())
      .returning('test_user_id')
      .execute();
    return finishMembershipChange(ctx, trx, target.id, users, new Set(inserted.map((r) => r.test_user_id)), 'add', now);
  });
}

/** Removes users from a list: all of them or none (an unknown user stops it; a non-member is reported). */
export async function removeTestListMembers(ctx: Context, listRef: string, userRefs: string[]): Promise<MembershipResult> {
  return ctx.db.transaction().execute(async (trx) => {
    const target = await resolveTestList(trx, listRef);
    await lockTestList(trx, target.id);
    const users = await resolveUsers(trx, userRefs);
    const deleted = await trx
      .deleteFrom('test_list_members')
      .where('test_list_id', '=', target.id)
      .where('test_user_id', 'in', users.map((u) => u.id))
      .returning('test_user_id')
      .execute();
    return finishMembershipChange(ctx, trx, target.id, users, new Set(deleted.map((r) => r.test_user_id)), 'remove', ctx.clock.now());
  });
}

export async function showTestList(ctx: Context, ref: string): Promise<TestListDetail> {
  const list = await resolveTestList(ctx.db, ref);
  return { list, members: await membersOf(ctx.db, list.id), warnings: sizeWarnings(list) };
}

export interface TestListsResult {
  lists: Array<TestList & { warnings: string[] }>;
}

export async function listTestLists(ctx: Context): Promise<TestListsResult> {
  return { lists: (await listTestListRows(ctx.db)).map((l) => ({ ...l, warnings: sizeWarnings(l) })) };
}

/** Deletes the list and its memberships (not the users); past test runs keep the list's name. */
export async function removeTestList(ctx: Context, ref: string): Promise<{ removed: TestList; members: TestListMember[] }> {
  return ctx.db.transaction().execute(async (trx) => {
    const found = await resolveTestList(trx, ref);
    await lockTestList(trx, found.id);
    const members = await membersOf(trx, found.id);
    await trx.deleteFrom('test_lists').where('id', '=', found.id).execute();
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: 'test_list.remove',
        entityType: 'test_list',
        entityId: found.id,
        summary: `Removed test list #${found.id} "${found.name}" (${members.length} member(s); the test users stay)`,
        details: { name: found.name, description: found.description, members: members.map(brief) },
      },
      ctx.config,
    );
    return { removed: found, members };
  });
}
