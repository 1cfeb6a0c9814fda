// Contacts as the operator sees them: list, summary, show, and the two switches that keep a
// person from being messaged (suppression by the operator, opt-out by the person). Each switch
// runs in one transaction with its audit row and stops the contact's unsent queue rows there too,
// so a failure leaves nothing half done.
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
import { skipPendingRowsForContact } from './skip-pending-rows.js';

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

export interface ContactDetail {
  contact: Contact;
  /** The contact's rows in campaign queues, newest campaign first. */
  queue: ContactQueueEntry[];
}

export async function showContact(ctx: Context, ref: string): Promise<ContactDetail> {
  const contact = await resolveContact(ctx.db, ref);
  return { contact, queue: await queueEntriesOf(ctx.db, contact.id) };
}

// ---------------------------------------------------------------------------------------------
// suppress / unsuppress / opt-out / opt-in

export type ContactAction = 'suppress' | 'unsuppress' | 'opt_out' | 'opt_in';

export interface ContactChangeResult {
  action: ContactAction;
  /** False when the contact was already in that state (nothing written, nothing audited). */
  changed: boolean;
  contact: Contact;
  /** Unsent queue rows this stopped (suppress and opt-out only). */
  skippedRows: number;
  campaignIds: number[];
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
  /** Is the contact already where this change would put it? */
  already(c: Contact): boolean;
  apply(trx: Transaction<Database>, c: Contact, now: Date): Promise<void>;
  /** Set for changes that must stop unsent rows (promise 4). */
  skipReason?: 'suppressed' | 'opted_out';
  summary(c: Contact, skipped: number): string;
  details: Record<string, unknown>;
}

async function changeContact(ctx: Context, ref: string, change: Change): Promise<ContactChangeResult> {
  return ctx.db.transaction().execute(async (trx) => {
    const found = await resolveContact(trx, ref);
    const before = await lockContact(trx, found.id);
    const now = ctx.clock.now();
    const already = change.already(before);
    if (!already) await change.apply(trx, before, now);
    // Even when the flag was already set, rows added since (by a build that raced the switch)
    // are stopped: the flag and the queue must agree.
    const skipped = change.skipReason ? await skipPendingRowsForContact(trx, before.id, change.skipReason, now) : { count: 0, campaignIds: [] };
    const contact = already ? before : await lockContact(trx, before.id);
    if (already && skipped.count === 0) return { action: change.action, changed: false, contact, skippedRows: 0, campaignIds: [] };
    await recordActivity(
      trx,
      {
        actor: ctx.actor,
        action: `contact.${change.action}`,
        entityType: 'contact',
        entityId: contact.id,
        summary: already ? `Skipped ${skipped.count} unsent queue row(s) of contact ${who(contact)} (already ${change.skipReason === 'opted_out' ? 'opted out' : 'suppressed'})` : change.summary(contact, skipped.count),
        details: { crmId: contact.crmId, chatId: contact.chatId, ...change.details, skippedRows: skipped.count, campaignIds: skipped.campaignIds },
      },
      ctx.config,
    );
    return { action: change.action, changed: !already, contact, skippedRows: skipped.count, campaignIds: skipped.campaignIds };
  });
}

const who = (c: Contact) => `#${c.id} ${c.name ?? `(CRM ${c.crmId})`}`;
const rowsNote = (n: number) => (n > 0 ? `; ${n} unsent queue row(s) skipped` : '');

/** Suppression: the operator's "never message this person", whatever the CRM says. */
export async function suppressContact(ctx: Context, ref: string, reason: unknown): Promise<ContactChangeResult> {
  const why = parseReason(reason, 'suppress');
  return changeContact(ctx, ref, {
    action: 'suppress',
    already: (c) => c.suppressed && c.suppressedReason === why,
    apply: async (trx, c, now) => {
      await trx
        .updateTable('contacts')
        .set({ suppressed: true, suppressed_reason: why, suppressed_at: c.suppressed && c.suppressedAt ? c.suppressedAt : now, updated_at: now })
        .where('id', '=', c.id)
        .execute();
    },
    skipReason: 'suppressed',
    summary: (c, n) => `Suppressed contact ${who(c)}: ${why}${rowsNote(n)}`,
    details: { reason: why },
  });
}

export async function unsuppressContact(ctx: Context, ref: string, reason: unknown): Promise<ContactChangeResult> {
  const why = parseReason(reason, 'unsuppress');
  return changeContact(ctx, ref, {
    action: 'unsuppress',
    already: (c) => !c.suppressed,
    apply: async (trx, c, now) => {
      await trx.updateTable('contacts').set({ suppressed: false, suppressed_reason: null, suppressed_at: null, updated_at: now }).where('id', '=', c.id).execute();
    },
    // Skipped rows stay skipped: SKIPPED is final, and a later queue build does not re-add a contact already in the queue.
    summary: (c) => `Unsuppressed contact ${who(c)}: ${why}`,
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
    summary: (c, n) => `Opted out contact ${who(c)} (by an operator)${rowsNote(n)}`,
    details: { source: 'operator' },
  });
}

export async function optInContact(ctx: Context, ref: string): Promise<ContactChangeResult> {
  return changeContact(ctx, ref, {
    action: 'opt_in',
    already: (c) => !c.optedOut,
    apply: async (trx, c, now) => {
      await trx.updateTable('contacts').set({ opted_out: false, opted_out_at: null, opted_out_source: null, updated_at: now }).where('id', '=', c.id).execute();
    },
    summary: (c) => `Opted in contact ${who(c)} again (by an operator)`,
    details: { source: 'operator' },
  });
}
