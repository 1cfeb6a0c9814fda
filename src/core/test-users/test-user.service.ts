// Test users: the internal people who receive test runs. Each mutation runs in one transaction
// with its audit row; a broken rule anywhere leaves nothing written.
import type { Transaction } from 'kysely';
import { z } from 'zod';
import { recordActivity } from '../audit/audit.repository.js';
import type { Context, Db } from '../context.js';
import type { Database } from '../db/schema.js';
import { CampaignError, type Issue, isUniqueViolation, parseWith } from '../errors.js';
import { parsePhone } from '../phones/parse-phone.js';
import {
  findTestUserByChatId,
  findTestUserById,
  findTestUsersByName,
  listTestUserRows,
  lockTestUser,
  type TestUser,
} from './test-user.repository.js';

export const PHONE_EXAMPLE = '+919876543210';

// ---------------------------------------------------------------------------------------------
// input

const name = z.string({ error: 'is required' }).trim().min(1, 'cannot be empty').max(200, 'must be at most 200 characters');
const notes = z.string().trim().max(1000, 'must be at most 1000 characters');
const phone = z.string({ error: `is required: a full international number, for example ${PHONE_EXAMPLE}` }).max(64, 'is too long for a phone number');

const addSchema = z.strictObject({ name, phone, notes: notes.optional() });
const editSchema = z.strictObject({ name: name.optional(), phone: phone.optional(), notes: notes.optional() });

export type TestUserAddInput = z.input<typeof addSchema>;
export type TestUserEditInput = z.input<typeof editSchema>;

/**
 * A test user's phone must carry its country code: test users are often abroad (the example is an
 * Indian number), so guessing the DRC for a bare number would message the wrong person.
 */
export function parseTestUserPhone(raw: string): { raw: string; chatId: string } {
  const text = raw.trim();
  const r = parsePhone(text, { requireInternational: true });
  if (r.valid) return { raw: text, chatId: r.chatId };
  const noCode = /country code/.test(r.reason);
  const issue: Issue = {
    path: 'phone',
    message: noCode
      ? `"${text}" has no country code: a test user's phone must be a full international number starting with + and the country code, for example ${PHONE_EXAMPLE}`
      : `"${text}" is not a usable phone number (${r.reason}): give the full international number with + and the country code, for example ${PHONE_EXAMPLE}`,
  };
  throw new CampaignError('PHONE_INVALID', `The test user's phone is not valid: ${issue.path}: ${issue.message}.`, { issues: [issue], reason: r.reason });
}

// ---------------------------------------------------------------------------------------------
// finding a test user by what the operator typed

/** `#id`, an id, a phone (any form that parses, or the chat id digits) or a name (case-insensitive). */
export async function resolveTestUser(db: Db | Transaction<Database>, ref: string): Promise<TestUser> {
  const text = ref.trim();
  if (text === '') throw new CampaignError('USAGE', 'Name the test user by its id, its name or its phone (for example 3, "Asha" or +919876543210).');
  const found = new Map<number, TestUser>();
  const explicitId = /^#\d+$/.test(text);
  if (explicitId || /^\d+$/.test(text)) {
    const byId = await findTestUserById(db, Number(text.replace(/^#/, '')));
    if (byId) found.set(byId.id, byId);
  }
  if (!explicitId) {
    // Digits alone are also tried as an international number without the + (the chat id).
    for (const candidate of /^\d{8,15}$/.test(text) ? [text, `+${text}`] : [text]) {
      const p = parsePhone(candidate, { requireInternational: true });
      if (!p.valid) continue;
      const byPhone = await findTestUserByChatId(db, p.chatId);
      if (byPhone) found.set(byPhone.id, byPhone);
    }
    for (const u of await findTestUsersByName(db, text)) found.set(u.id, u);
  }
  const list = [...found.values()];
  if (list.length === 1) return list[0]!;
  if (list.length === 0) {
    throw new CampaignError('TEST_USER_NOT_FOUND', `No test user has the id, name or phone "${text}". \`campaign test-users list\` shows them all.`, { ref: text });
  }
  throw new CampaignError(
    'AMBIGUOUS_REFERENCE',
    `"${text}" matches ${list.length} test users (${list.map((u) => `#${u.id} ${u.name}`).join(', ')}). Name one by its id, written #<id>.`,
    { ref: text, testUserIds: list.map((u) => u.id) },
  );
}

async function assertPhoneFree(db: Db | Transaction<Database>, chatId: string, exceptId?: number): Promise<void> {
  const other = await findTestUserByChatId(db, chatId);
  if (other && other.id !== exceptId) {
    throw new CampaignError(
      'ALREADY_EXISTS',
      `Test user #${other.id} "${other.name}" already has the phone ${other.phone} (chat ${other.chatId}). Edit that one (\`campaign test-users edit ${other.id}\`) instead of adding another.`,
      { field: 'phone', testUserId: other.id },
    );
  }
}

/** A unique violation on chat_id means another session added the same phone between check and insert. */
function duplicatePhone(e: unknown): CampaignError | undefined {
  if (!isUniqueViolation(e)) return undefined;
  return new CampaignError('ALREADY_EXISTS', 'Another test user already has that phone (added at the same moment). Run `campaign test-users list` and edit that one.', { field: 'phone' });
}

// ---------------------------------------------------------------------------------------------
// commands

export interface TestUserResult {
  testUser: TestUser;
  /** False when nothing had to change (nothing written, nothing audited). */
  changed: boolean;
  warnings: string[];
}

export async function addTestUser(ctx: Context, input: TestUserAddInput): Promise<TestUserResult> {
  const data = parseWith(addSchema, input, 'VALIDATION_FAILED', 'The test user is not valid');
  const p = parseTestUserPhone(data.phone);
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      await assertPhoneFree(trx, p.chatId);
      const now = ctx.clock.now();
      const row = await trx
        .insertInto('test_users')
        .values({ name: data.name, phone_raw: p.raw, chat_id: p.chatId, active: true, notes: data.notes || null, created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      const testUser = (await findTestUserById(trx, row.id))!;
      await recordActivity(
        trx,
        {
          actor: ctx.actor,
          action: 'test_user.add',
          entityType: 'test_user',
          entityId: testUser.id,
          summary: `Added test user #${testUser.id} "${testUser.name}" (${testUser.phone})`,
          details: { name: testUser.name, phone: testUser.phone, chatId: testUser.chatId, notes: testUser.notes },
        },
        ctx.config,
      );
      return { testUser, changed: true, warnings: [] };
    });
  } catch (e) {
    throw duplicatePhone(e) ?? e;
  }
}

export async function editTestUser(ctx: Context, ref: string, input: TestUserEditInput): Promise<TestUserResult> {
  const data = parseWith(editSchema, input, 'VALIDATION_FAILED', 'The change is not valid');
  if (data.name === undefined && data.phone === undefined && data.notes === undefined) {
    throw new CampaignError('USAGE', 'Say what to change: --name, --phone and/or --notes (--notes "" clears the notes).');
  }
  const p = data.phone !== undefined ? parseTestUserPhone(data.phone) : undefined;
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      const found = await resolveTestUser(trx, ref);
      const before = await lockTestUser(trx, found.id);
      if (p) await assertPhoneFree(trx, p.chatId, before.id);
      const after = {
        name: data.name ?? before.name,
        phone: p?.raw ?? before.phone,
        chatId: p?.chatId ?? before.chatId,
        notes: data.notes === undefined ? before.notes : data.notes || null,
      };
      const changed = (['name', 'phone', 'chatId', 'notes'] as const).filter((k) => after[k] !== before[k]);
      if (changed.length === 0) return { testUser: before, changed: false, warnings: [] };
      await trx
        .updateTable('test_users')
        .set({ name: after.name, phone_raw: after.phone, chat_id: after.chatId, notes: after.notes, updated_at: ctx.clock.now() })
        .where('id', '=', before.id)
        .execute();
      const testUser = (await findTestUserById(trx, before.id))!;
      await recordActivity(
        trx,
        {
          actor: ctx.actor,
          action: 'test_user.edit',
          entityType: 'test_user',
          entityId: testUser.id,
          summary: `Edited test user #${testUser.id} "${testUser.name}": ${changed.join(', ')}`,
          details: { changed, before: Object.fromEntries(changed.map((k) => [k, before[k]])), after: Object.fromEntries(changed.map((k) => [k, after[k]])) },
        },
        ctx.config,
      );
      return { testUser, changed: true, warnings: [] };
    });
  } catch (e) {
    throw duplicatePhone(e) ?? e;
  }
}

async function setActive(ctx: Context, ref: string, active: boolean): Promise<TestUserResult> {
  return ctx.db.transaction().execute(async (trx) => {
    const found = await resolveTestUser(trx, ref);
    const before = await lockTestUser(trx, found.id);
    const warnings =
      !active && before.lists.length > 0
        ? [`#${before.id} "${before.name}" stays in ${before.lists.map((l) => `"${l}"`).join(', ')}, shown there as inactive; \`campaign test-lists remove\` takes it out.`]
        : [];
    if (before.active === active) return { testUser: before, changed: false, warnings: [] };
    await trx.updateTable('test_users').set({ active, updated_at: ctx.clock.now() }).where('id', '=', before.id).execute();
    const testUser = (await findTestUserById(trx, before.id))!;
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: active ? 'test_user.activate' : 'test_user.deactivate',
        entityType: 'test_user',
        entityId: testUser.id,
        summary: `${active ? 'Activated' : 'Deactivated'} test user #${testUser.id} "${testUser.name}"`,
        details: { lists: testUser.lists },
      },
      ctx.config,
    );
    return { testUser, changed: true, warnings };
  });
}

export const activateTestUser = (ctx: Context, ref: string) => setActive(ctx, ref, true);
export const deactivateTestUser = (ctx: Context, ref: string) => setActive(ctx, ref, false);

export interface TestUserRemoved {
  removed: TestUser;
}

/** Deletes the user and its list memberships; past test-run recipients keep their name and chat id. */
export async function removeTestUser(ctx: Context, ref: string): Promise<TestUserRemoved> {
  return ctx.db.transaction().execute(async (trx) => {
    const found = await resolveTestUser(trx, ref);
    const before = await lockTestUser(trx, found.id);
    await trx.deleteFrom('test_users').where('id', '=', before.id).execute();
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: 'test_user.remove',
        entityType: 'test_user',
        entityId: before.id,
        summary: `Removed test user #${before.id} "${before.name}" (${before.phone})${before.lists.length ? ` from ${before.lists.length} list(s)` : ''}`,
        details: { name: before.name, phone: before.phone, chatId: before.chatId, lists: before.lists },
      },
      ctx.config,
    );
    return { removed: before };
  });
}

export interface TestUserList {
  testUsers: TestUser[];
}

export async function listTestUsers(ctx: Context, filter: { active?: boolean } = {}): Promise<TestUserList> {
  return { testUsers: await listTestUserRows(ctx.db, filter) };
}

export async function showTestUser(ctx: Context, ref: string): Promise<{ testUser: TestUser }> {
  return { testUser: await resolveTestUser(ctx.db, ref) };
}
