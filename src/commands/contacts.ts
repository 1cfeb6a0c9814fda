// `campaign contacts list | summary | show | suppress | unsuppress | opt-out | opt-in`: the
// imported contacts. Flags are parsed here; the rules live in core/contacts.
import type { Command } from 'commander';
import type { Contact } from '../core/contacts/contact.repository.js';
import {
  type ContactChangeResult,
  type ContactDetail,
  type ContactList,
  type ContactSummary,
  contactsSummary,
  listContacts,
  optInContact,
  optOutContact,
  showContact,
  suppressContact,
  unsuppressContact,
} from '../core/contacts/contact.service.js';
import { CampaignError } from '../core/errors.js';
import { type CliKit, intArg } from './kit.js';
import { keyValue, paint, table } from './render.js';

const n = (x: number): string => x.toLocaleString('en-US');
const day = (iso: string | null): string => (iso ? iso.slice(0, 16).replace('T', ' ') : '');

function state(c: Contact): string {
  const parts = [c.optedOut ? 'opted out' : '', c.suppressed ? 'suppressed' : ''].filter(Boolean);
  if (!parts.length) return paint('dim', 'ok');
  return `${parts.join(', ')}${c.blockedThroughNumber ? ' (its number)' : ''}`;
}

function presentList(r: ContactList): string {
  const rows = r.contacts.map((c) => [
    c.id,
    c.crmId,
    c.name ?? '',
    c.phone ?? '',
    c.phoneValid ? c.chatId : paint('yellow', `invalid: ${c.phoneInvalidReason ?? ''}`),
    c.brands.join(', '),
    [c.city, c.source].filter(Boolean).join(' / '),
    state(c),
  ]);
  const shown = r.contacts.length ? `${n(r.offset + 1)}-${n(r.offset + r.contacts.length)} of ${n(r.total)}` : `0 of ${n(r.total)}`;
  const lines = [
    table(['id', 'crm id', 'name', 'phone', 'chat id / validity', 'brands', 'city / source', 'state'], rows, {
      empty: r.total === 0 && r.offset === 0 ? 'No contact matches. Contacts come from `campaign audience import --brand <b> --all`.' : undefined,
    }),
    `${shown} contacts`,
  ];
  if (r.offset + r.contacts.length < r.total) lines.push(paint('dim', `next page: --offset ${r.offset + r.contacts.length}`));
  return lines.join('\n');
}

function presentSummary(s: ContactSummary): string {
  const head = keyValue([
    ['total', n(s.total)],
    ['valid phone', n(s.validity.valid)],
    ['invalid phone', `${n(s.validity.invalid)} (kept, never queued)`],
    ['suppressed', n(s.suppressed)],
    ['opted out', n(s.optedOut)],
    ['reachable', `${n(s.reachable)} (valid, not suppressed, not opted out)`],
  ]);
  const brands = table(
    ['brand', 'contacts', 'valid', 'invalid', 'suppressed', 'opted out', 'reachable'],
    s.brands.map((b) => [b.brand, n(b.total), n(b.valid), n(b.invalid), n(b.suppressed), n(b.optedOut), n(b.reachable)]),
    { empty: 'No contacts yet: `campaign audience import --brand <b> --all` imports them.' },
  );
  const reasons = s.invalidReasons.length ? `\ninvalid phones: ${s.invalidReasons.map((r) => `${r.reason} ${n(r.contacts)}`).join(', ')}` : '';
  return `${head}\n\n${brands}${reasons}`;
}

function contactBlock(c: Contact): string {
  return keyValue([
    ['id', c.id],
    ['crm id', c.crmId],
    ['name', c.name ?? ''],
    ['phone', c.phone ?? ''],
    ['chat id', c.phoneValid ? c.chatId : `invalid: ${c.phoneInvalidReason ?? ''}`],
    ['brands', c.brands.join(', ')],
    ['city / source', [c.city, c.source].filter(Boolean).join(' / ')],
    ['store', c.storeId ?? ''],
    ['suppressed', c.suppressed ? `yes, since ${day(c.suppressedAt)}: ${c.suppressedReason ?? ''}${c.ownRecord.suppressed ? '' : ' (through its number)'}` : 'no'],
    ['opted out', c.optedOut ? `yes, since ${day(c.optedOutAt)} (${c.optedOutSource ?? ''})${c.ownRecord.optedOut ? '' : ' (through its number)'}` : 'no'],
    ['CRM updated', day(c.crmUpdatedAt)],
    ['imported', `${day(c.firstImportedAt)}, last ${day(c.lastImportedAt)}`],
  ]);
}

/** promise 4: which number is blocked and why, and who else has it. */
function numberBlock(d: ContactDetail): string {
  const n = d.number;
  if (!n) return paint('dim', 'No valid number: nothing can be sent to this contact.');
  const others = n.contacts.filter((h) => h.id !== d.contact.id);
  const rows: Array<[string, string | number]> = [
    ['number', n.blocked ? paint('red', `${n.chatId}: blocked`) : `${n.chatId}: not blocked`],
    ...n.explanation.map((line): [string, string] => ['', line]),
  ];
  if (others.length) rows.push(['same number', others.map((h) => `contact #${h.id}${h.name ? ` ${h.name}` : ''}`).join(', ')]);
  if (n.testUsers.length) rows.push(['test users', n.testUsers.map((h) => `#${h.id}${h.name ? ` ${h.name}` : ''}`).join(', ')]);
  return keyValue(rows);
}

function presentDetail(d: ContactDetail): string {
  const queue = table(
    ['campaign', 'name', 'status', 'sent', 'skip reason'],
    d.queue.map((q) => [q.campaignId, q.campaignName, q.status, day(q.sentAt), q.skipReason ?? '']),
    { empty: 'Not in any campaign queue.' },
  );
  return `${contactBlock(d.contact)}\n\n${numberBlock(d)}\n\n${queue}`;
}

const DONE: Record<ContactChangeResult['action'], [string, string]> = {
  suppress: ['suppressed', 'already suppressed with that reason'],
  unsuppress: ['unsuppressed', 'was not suppressed'],
  opt_out: ['opted out', 'was already opted out'],
  opt_in: ['opted in', 'was not opted out'],
};

function presentChange(r: ContactChangeResult): string {
  const [done, already] = DONE[r.action];
  const who = `contact #${r.contact.id} ${r.contact.name ?? `(CRM ${r.contact.crmId})`}`;
  const head = r.changed ? `${done}: ${who}` : `nothing to do: ${who} ${already}`;
  const rows = r.skippedRows > 0 ? `\n${n(r.skippedRows)} unsent queue row(s) skipped (campaign ${r.campaignIds.join(', ')})` : '';
  const tests = r.skippedTestRows > 0 ? `\n${n(r.skippedTestRows)} unsent test-run row(s) skipped (test run ${r.testRunIds.join(', ')})` : '';
  const after = r.changed && (r.action === 'unsuppress' || r.action === 'opt_in') ? `\n${paint('dim', 'Rows skipped earlier stay skipped.')}` : '';
  return `${head}\n${r.note}${rows}${tests}${after}`;
}

function yesNo(flag: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'yes') return true;
  if (value === 'false' || value === 'no') return false;
  throw new CampaignError('USAGE', `${flag} takes no value, or yes/no; got "${value}".`);
}

export function register(program: Command, k: CliKit): void {
  const contacts = program.command('contacts').description('Imported contacts: list, summary, show, suppress, opt-out');

  contacts
    .command('list')
    .description('List contacts, newest import last')
    .option('--brand <brand>', 'only contacts registered with this brand')
    .option('--validity <v>', 'valid | invalid phone')
    .option('--suppressed [yes|no]', 'only suppressed contacts (or --suppressed no: only not suppressed)')
    .option('--opted-out [yes|no]', 'only opted-out contacts (or --opted-out no)')
    .option('--search <text>', 'name, phone, chat id or CRM id contains')
    .option('--limit <n>', 'at most this many, 1-10000', '100')
    .option('--offset <n>', 'skip this many', '0')
    .action(
      k.action(async (run) => {
        const o = run.opts;
        if (o.validity !== undefined && o.validity !== 'valid' && o.validity !== 'invalid') {
          throw new CampaignError('USAGE', `--validity must be valid or invalid; got "${o.validity}".`);
        }
        return listContacts(await run.ctx(), {
          brand: o.brand,
          validity: o.validity,
          suppressed: o.suppressed === true ? true : yesNo('--suppressed', o.suppressed),
          optedOut: o.optedOut === true ? true : yesNo('--opted-out', o.optedOut),
          search: o.search,
          limit: intArg(o.limit, '--limit', { min: 1, max: 10_000 }),
          offset: intArg(o.offset, '--offset', { min: 0 }),
        });
      }, presentList),
    );

  contacts
    .command('summary')
    .description('Totals: per brand, per phone validity, suppressed, opted out')
    .action(k.action(async (run) => contactsSummary(await run.ctx()), presentSummary));

  contacts
    .command('show')
    .description('One contact, whether its number is blocked and why, and its place in every campaign queue')
    .argument('<contact>', 'id (42 or #42) or phone (+243812345678, 0812345678)')
    .action(k.action(async (run, [ref]) => showContact(await run.ctx(), ref!), presentDetail));

  contacts
    .command('suppress')
    .description('Never message this contact\'s number, whichever contact or test user has it (skips its unsent rows); survives re-imports')
    .argument('<contact>', 'id or phone')
    .requiredOption('--reason <text>', 'required: why, for the audit log')
    .action(k.action(async (run, [ref]) => suppressContact(await run.ctx(), ref!, run.opts.reason), presentChange));

  contacts
    .command('unsuppress')
    .description('Lift the suppression of the contact\'s number, for every contact with it (rows skipped earlier stay skipped)')
    .argument('<contact>', 'id or phone')
    .requiredOption('--reason <text>', 'required: why, for the audit log')
    .action(k.action(async (run, [ref]) => unsuppressContact(await run.ctx(), ref!, run.opts.reason), presentChange));

  contacts
    .command('opt-out')
    .description('Record that the person opted out: blocks the number for every contact and test user with it (skips its unsent rows)')
    .argument('<contact>', 'id or phone')
    .action(k.action(async (run, [ref]) => optOutContact(await run.ctx(), ref!), presentChange));

  contacts
    .command('opt-in')
    .description('Lift the opt-out of the contact\'s number, for every contact with it (a suppression stays)')
    .argument('<contact>', 'id or phone')
    .action(k.action(async (run, [ref]) => optInContact(await run.ctx(), ref!), presentChange));
}
