// Contacts as the operator sees them: list, summary, show, and the two switches that keep a
// person from being messaged (suppression by the operator, opt-out by the person). promise 4: a
// switch binds to the contact's WhatsApp number, so every CRM row and test user with that number
// is the same person. Each switch runs in one transaction with its audit row and stops the
// number's unsent queue and test-run rows there too, so a failure leaves nothing half done.
import type { Transaction } from 'kysely';
import { z } from 'zod';
import { recordActivity } from '../audit/audit.repository.js';
import type { Context, Db } from '../context.js';
import type { Database } from '../db/schema.js';
import { CampaignError, parseWith, validationError } from '../errors.js';
import { parsePhone } from '../phones/parse-phone.js';
import {
  type BrandContactCounts,
  type Contact,
  type ContactQueueEntry,
  countContacts,
  countContactsByBrand,
  countInvalidReasons,
  findContactById,
  findContactsByPhone,
  listContactRows,
  lockContact,
  queueEntriesOf,
} from './contact.repository.js';
import { findNumberBlock, holdersOfNumber, liftOptOut, liftSuppression, lockNumber, type NumberHolder } from './number-block.repository.js';
import { type SkippedRows, skipPendingRowsOfNumber } from './skip-pending-rows.js';

// ---------------------------------------------------------------------------------------------
// finding a contact by what the operator typed

/**
 * `<id|phone>`: `#12` is always an id; text with `+`, `00`, spaces or punctuation is always a
 * phone; bare digits are tried as both, and if they name two different contacts the operator is
 * asked to say which (AMBIGUOUS_REFERENCE) rather than guessed for. A phone matches the chat id it
 * parses to (so `0812345678` finds `+243 81 234 5678`) or, for invalid phones, the raw text.
 */
export async function resolveContact(db: Db | Transaction<Database>, ref: string): Promise<Contact> {
  const text = ref.trim();
  if (text === '') throw new CampaignError('USAGE', 'Name the contact by its id (for example 42 or #42) or its phone (for example +243812345678).');
  const explicitId = /^#\d+$/.test(text);
  const digitsOnly = /^\d+$/.test(text);
  const candidates = new Map<number, Contact>();
  if (explicitId || digitsOnly) {
    const byId = await findContactById(db, Number(text.replace(/^#/, '')));
    if (byId) candidates.set(byId.id, byId);
  }
  if (!explicitId) {
    const parsed = parsePhone(text);
    for (const c of await findContactsByPhone(db, parsed.valid ? parsed.chatId : null, text)) candidates.set(c.id, c);
  }
  const found = [...candidates.values()];
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new CampaignError(
      'CONTACT_NOT_FOUND',
      `No contact has the ${explicitId ? 'id' : digitsOnly ? 'id or phone' : 'phone'} "${text}". Contacts come from \`campaign audience import\`; \`campaign contacts list --search ${JSON.stringify(text.replace(/^#/, ''))}\` finds partial matches.`,
      { ref: text },
    );
  }
  throw new CampaignError(
    'AMBIGUOUS_REFERENCE',
    `"${text}" matches ${found.length} contacts (${found.map((c) => `#${c.id} ${c.name ?? c.crmId}`).join(', ')}). Name one by its id, written #<id>.`,
    { ref: text, contactIds: found.map((c) => c.id) },
  );
}

// ---------------------------------------------------------------------------------------------
// list, summary, show

const listSchema = z.strictObject({
  brand: z.string().trim().min(1, 'cannot be empty').max(200).optional(),
  validity: z.enum(['valid', 'invalid'], { error: 'must be valid or invalid' }).optional(),
  suppressed: z.boolean().optional(),
  optedOut: z.boolean().optional(),
  search: z.string().trim().min(1, 'cannot be empty').max(200).optional(),
  limit: z.number().int().min(1).max(10_000).default(100),
  offset: z.number().int().min(0).default(0),
});

export type ContactListInput = z.input<typeof listSchema>;

export interface ContactList {
  total: number;
  limit: number;
  offset: number;
  filters: { brand: string | null; validity: 'valid' | 'invalid' | null; suppressed: boolean | null; optedOut: boolean | null; search: string | null };
  contacts: Contact[];
}

export async function listContacts(ctx: Context, input: ContactListInput = {}): Promise<ContactList> {
  const f = parseWith(listSchema, input, 'USAGE', 'The contact filter is not valid');
  const { total, contacts } = await listContactRows(ctx.db, f);
  return {
    total,
    limit: f.limit,
    offset: f.offset,
    filters: { brand: f.brand ?? null, validity: f.validity ?? null, suppressed: f.suppressed ?? null, optedOut: f.optedOut ?? null, search: f.search ?? null },
    contacts,
  };
}

export interface ContactSummary {
  total: number;
  validity: { valid: number; invalid: number };
  suppressed: number;
  optedOut: number;
  /** Valid, not suppressed, not opted out. */
  reachable: number;
  brands: BrandContactCounts[];
  invalidReasons: Array<{ reason: string; contacts: number }>;
}

export async function contactsSummary(ctx: Context): Promise<ContactSummary> {
  const [counts, brands, invalidReasons] = await Promise.all([countContacts(ctx.db), countContactsByBrand(ctx.db), countInvalidReasons(ctx.db)]);
  return {
    total: counts.total,
    validity: { valid: counts.valid, invalid: counts.invalid },
    suppressed: counts.suppressed,
    optedOut: counts.optedOut,
    reachable: counts.reachable,
    brands,
    invalidReasons,
  };
}

export interface NumberStatus {
  /** The WhatsApp number (chat id) the blocks bind to. */
  chatId: string;
  blocked: boolean;
  optedOut: { at: string | null; source: string | null; keyword: string | null; throughContact: NumberHolder | null } | null;
  suppressed: { at: string | null; reason: string | null; throughContact: NumberHolder | null } | null;
  /** Every contact with this number, this one included, oldest first. */
  contacts: NumberHolder[];
  /** Test users with this number: test runs skip them while it is blocked. */
  testUsers: NumberHolder[];
  /** One sentence per fact, the same on every surface. */
  explanation: string[];
}

export interface ContactDetail {
  contact: Contact;
  /** Where the contact's number stands (null: the phone is not a valid number). */
  number: NumberStatus | null;
  /** The contact's rows in campaign queues, newest campaign first. */
  queue: ContactQueueEntry[];
}

const when = (at: string | null) => (at ? `${at.slice(0, 16).replace('T', ' ')} UTC` : 'an unknown date');
const named = (h: NumberHolder) => `#${h.id}${h.name ? ` ${h.name}` : ''}`;

/** promise 4: which number is blocked, since when, why, and through which row. */
export async function numberStatus(db: Db | Transaction<Database>, contact: Contact): Promise<NumberStatus | null> {
  if (!contact.chatId) return null;
  const [block, holders] = await Promise.all([findNumberBlock(db, contact.chatId), holdersOfNumber(db, contact.chatId)]);
  const holder = (id: number | null): NumberHolder | null => (id === null ? null : (holders.contacts.find((h) => h.id === id) ?? { id, name: null }));
  const optedOut = block?.optedOut
    ? { at: block.optedOutAt, source: block.optedOutSource, keyword: block.optedOutKeyword, throughContact: holder(block.optedOutContactId) }
    : null;
  const suppressed = block?.suppressed ? { at: block.suppressedAt, reason: block.suppressedReason, throughContact: holder(block.suppressedContactId) } : null;
  const n = contact.chatId;
  const explanation: string[] = [];
  if (optedOut) {
    const how =
      optedOut.source === 'keyword'
        ? `by sending ${optedOut.keyword ? `"${optedOut.keyword}"` : 'an opt-out keyword'} on WhatsApp`
        : `${optedOut.source === 'operator' ? 'by an operator' : `(${optedOut.source ?? 'source unknown'})`}${optedOut.throughContact ? `, recorded on contact ${named(optedOut.throughContact)}` : ''}`;
    explanation.push(`Number ${n} opted out on ${when(optedOut.at)} ${how}.`);
  }
  if (suppressed) {
    explanation.push(`Number ${n} is suppressed since ${when(suppressed.at)}${suppressed.throughContact ? ` through contact ${named(suppressed.throughContact)}` : ''}: ${suppressed.reason ?? 'no reason given'}.`);
  }
  if (contact.blockedThroughNumber) {
    const others = [optedOut?.throughContact, suppressed?.throughContact].filter((h): h is NumberHolder => !!h && h.id !== contact.id);
    const because = others.length
      ? `contact ${[...new Map(others.map((h) => [h.id, h])).values()].map(named).join(' and ')} has the same number`
      : 'the number itself is blocked';
    explanation.push(`This contact's own record is clean: it is blocked because ${because}.`);
  }
  if ((optedOut || suppressed) && holders.testUsers.length) {
    explanation.push(`Test user ${holders.testUsers.map(named).join(', ')} has this number: test runs skip it too.`);
  }
  return { chatId: n, blocked: !!(optedOut || suppressed), optedOut, suppressed, contacts: holders.contacts, testUsers: holders.testUsers, explanation };
}

export async function showContact(ctx: Context, ref: string): Promise<ContactDetail> {
  const contact = await resolveContact(ctx.db, ref);
  const [number, queue] = await Promise.all([numberStatus(ctx.db, contact), queueEntriesOf(ctx.db, contact.id)]);
  return { contact, number, queue };
}

// ---------------------------------------------------------------------------------------------
// suppress / unsuppress / opt-out / opt-in

export type ContactAction = 'suppress' | 'unsuppress' | 'opt_out' | 'opt_in';

export interface ContactChangeResult {
  action: ContactAction;
  /** False when the contact was already in that state (nothing written, nothing audited). */
  changed: boolean;
  contact: Contact;
  /** Unsent campaign queue rows this stopped (suppress and opt-out only), for every contact of the number. */
  skippedRows: number;
  campaignIds: number[];
  /** Unsent test-run rows this stopped (a test user with the same number). */
  skippedTestRows: number;
  testRunIds: number[];
  /** promise 4: the number the change binds to, and who has it; null when the phone is not a valid number. */
  number: { chatId: string; contactIds: number[]; testUserIds: number[] } | null;
  /** What the change means for the number, in one sentence, for every surface. */
  note: string;
}

const reasonSchema = z
  .string({ error: 'is required' })
  .trim()
  .min(1, 'is required')
  .max(500, 'must be at most 500 characters');

function parseReason(reason: unknown, action: 'suppress' | 'unsuppress'): string {
  const r = reasonSchema.safeParse(reason);
  if (r.success) return r.data;
  throw validationError(
    'VALIDATION_FAILED',
    [{ path: 'reason', message: `${r.error.issues[0]?.message ?? 'is not valid'}: say why, for the audit log, for example --reason "${action === 'suppress' ? 'asked by phone not to be contacted' : 'complaint resolved'}"` }],
    `Cannot ${action} the contact`,
  );
}

interface Change {
  action: ContactAction;
  /** Is the contact (its own row or its number) already where this change would put it? */
  already(c: Contact): boolean;
  apply(trx: Transaction<Database>, c: Contact, now: Date): Promise<void>;
  /** Set for changes that must stop unsent rows (promise 4). */
  skipReason?: 'suppressed' | 'opted_out';
  summary(c: Contact, skipped: SkippedRows): string;
  /** After the change: what it means for the number. */
  note(c: Contact, holders: { contacts: NumberHolder[]; testUsers: NumberHolder[] }): string;
  details: Record<string, unknown>;
}

const NOTHING_SKIPPED: SkippedRows = { count: 0, campaignIds: [], testRows: 0, testRunIds: [] };

async function changeContact(ctx: Context, ref: string, change: Change): Promise<ContactChangeResult> {
  return ctx.db.transaction().execute(async (trx) => {
    const found = await resolveContact(trx, ref);
    const now = ctx.clock.now();
    // Lock order (number-block.repository.ts): the number's row, then the contact's. An import
    // that moved the contact to another number meanwhile: lock that one too.
    if (found.chatId) await lockNumber(trx, found.chatId, now);
    let before = await lockContact(trx, found.id);
    if (before.chatId && before.chatId !== found.chatId) {
      await lockNumber(trx, before.chatId, now);
      before = await lockContact(trx, found.id);
    }
    const already = change.already(before);
    if (!already) await change.apply(trx, before, now);
    // Even when the block was already there, rows added since (by a build that raced the switch)
    // are stopped: the block and the queue must agree. Every contact and test user of the number.
    const skipped = change.skipReason ? await skipPendingRowsOfNumber(trx, { chatId: before.chatId, contactId: before.id }, change.skipReason, now) : NOTHING_SKIPPED;
    const contact = already ? before : ((await findContactById(trx, before.id)) ?? before);
    const holders = contact.chatId ? await holdersOfNumber(trx, contact.chatId) : { contacts: [{ id: contact.id, name: contact.name }], testUsers: [] };
    const number = contact.chatId ? { chatId: contact.chatId, contactIds: holders.contacts.map((h) => h.id), testUserIds: holders.testUsers.map((h) => h.id) } : null;
    const result = {
      action: change.action,
      changed: !already,
      contact,
      skippedRows: skipped.count,
      campaignIds: skipped.campaignIds,
      skippedTestRows: skipped.testRows,
      testRunIds: skipped.testRunIds,
      number,
      note: change.note(contact, holders),
    };
    if (already && skipped.count === 0 && skipped.testRows === 0) return result;
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: `contact.${change.action}`,
        entityType: 'contact',
        entityId: contact.id,
        summary: already
          ? `Skipped ${skipped.count + skipped.testRows} unsent row(s) of contact ${who(contact)} (already ${change.skipReason === 'opted_out' ? 'opted out' : 'suppressed'})`
          : change.summary(contact, skipped),
        details: {
          crmId: contact.crmId, chatId: contact.chatId, ...change.details, skippedRows: skipped.count, campaignIds: skipped.campaignIds,
          skippedTestRows: skipped.testRows, testRunIds: skipped.testRunIds, numberContactIds: number?.contactIds ?? [contact.id], note: result.note,
        },
      },
      ctx.config,
    );
    return result;
  });
}

const who = (c: Contact) => `#${c.id} ${c.name ?? `(CRM ${c.crmId})`}`;
const rowsNote = (s: SkippedRows) =>
  [s.count > 0 ? `${s.count} unsent queue row(s) skipped` : '', s.testRows > 0 ? `${s.testRows} unsent test-run row(s) skipped` : ''].filter(Boolean).map((x) => `; ${x}`).join('');
const ids = (hs: NumberHolder[]) => hs.map((h) => `#${h.id}`).join(', ');

/** "no campaign or test run messages it, whichever contact (#1, #2) or test user (#3) has it" */
function blockedNote(c: Contact, what: string, holders: { contacts: NumberHolder[]; testUsers: NumberHolder[] }): string {
  if (!c.chatId) return `Contact ${who(c)} has no valid number: its own record is ${what}.`;
  const users = holders.testUsers.length ? ` or test user (${ids(holders.testUsers)})` : '';
  return `Number ${c.chatId} is ${what}: no campaign or test run messages it, whichever contact (${ids(holders.contacts)})${users} has it.`;
}

function liftedNote(c: Contact, what: string, still: string | null, holders: { contacts: NumberHolder[]; testUsers: NumberHolder[] }): string {
  const base = c.chatId ? `The ${what} of number ${c.chatId} is lifted for every contact with it (${ids(holders.contacts)})` : `The ${what} of contact ${who(c)} is lifted`;
  return `${base}${still ? `; it is still ${still}` : ''}.`;
}

/** Suppression: the operator's "never message this number", whatever the CRM says. */
export async function suppressContact(ctx: Context, ref: string, reason: unknown): Promise<ContactChangeResult> {
  const why = parseReason(reason, 'suppress');
  return changeContact(ctx, ref, {
    action: 'suppress',
    already: (c) => c.suppressed && c.suppressedReason === why,
    // The row's flag binds its number (trigger contacts_block_number, migration 0006).
    apply: async (trx, c, now) => {
      await trx
        .updateTable('contacts')
        .set({ suppressed: true, suppressed_reason: why, suppressed_at: c.ownRecord.suppressed && c.suppressedAt ? c.suppressedAt : now, updated_at: now })
        .where('id', '=', c.id)
        .execute();
    },
    skipReason: 'suppressed',
    summary: (c, s) => `Suppressed contact ${who(c)}${c.chatId ? ` and its number ${c.chatId}` : ''}: ${why}${rowsNote(s)}`,
    note: (c, h) => blockedNote(c, 'suppressed', h),
    details: { reason: why },
  });
}

export async function unsuppressContact(ctx: Context, ref: string, reason: unknown): Promise<ContactChangeResult> {
  const why = parseReason(reason, 'unsuppress');
  return changeContact(ctx, ref, {
    action: 'unsuppress',
    already: (c) => !c.suppressed,
    apply: async (trx, c, now) => {
      await liftSuppression(trx, c.chatId, now, c.id);
    },
    // Skipped rows stay skipped: SKIPPED is final, and a later queue build does not re-add a contact already in the queue.
    summary: (c) => `Unsuppressed contact ${who(c)}${c.chatId ? ` and its number ${c.chatId}` : ''}: ${why}`,
    note: (c, h) => liftedNote(c, 'suppression', c.optedOut ? 'opted out' : null, h),
    details: { reason: why },
  });
}

/** Opt-out recorded by an operator (the person asked by another channel); the webhook records keyword opt-outs. */
export async function optOutContact(ctx: Context, ref: string): Promise<ContactChangeResult> {
  return changeContact(ctx, ref, {
    action: 'opt_out',
    already: (c) => c.optedOut,
    apply: async (trx, c, now) => {
      await trx.updateTable('contacts').set({ opted_out: true, opted_out_at: now, opted_out_source: 'operator', updated_at: now }).where('id', '=', c.id).execute();
    },
    skipReason: 'opted_out',
    summary: (c, s) => `Opted out contact ${who(c)}${c.chatId ? ` and its number ${c.chatId}` : ''} (by an operator)${rowsNote(s)}`,
    note: (c, h) => blockedNote(c, 'opted out', h),
    details: { source: 'operator' },
  });
}

/** Lifts the number's opt-out (only the opt-out: a suppression stays until `unsuppress`). */
export async function optInContact(ctx: Context, ref: string): Promise<ContactChangeResult> {
  return changeContact(ctx, ref, {
    action: 'opt_in',
    already: (c) => !c.optedOut,
    apply: async (trx, c, now) => {
      await liftOptOut(trx, c.chatId, now, c.id);
    },
    summary: (c) => `Opted in contact ${who(c)}${c.chatId ? ` and its number ${c.chatId}` : ''} again (by an operator)`,
    note: (c, h) => liftedNote(c, 'opt-out', c.suppressed ? 'suppressed (lift that with `campaign contacts unsuppress`)' : null, h),
    details: { source: 'operator' },
  });
}
