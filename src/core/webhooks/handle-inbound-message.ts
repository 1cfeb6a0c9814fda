// An inbound `message` (from a contact): an opt-out keyword opts the NUMBER out at once and stops
// every unsent row for it, in every campaign and test run, in the same transaction (promise 4); an
// opt-in keyword lifts the number's opt-out (never an operator's suppression); anything else is a
// reply to the campaign that last messaged the chat.
import { sql, type Transaction } from 'kysely';
import { recordActivity } from '../audit/audit.repository.js';
import type { Config } from '../config.js';
import { liftOptOut, lockNumber, numberForLid, optOutNumber } from '../contacts/number-block.repository.js';
import { skipPendingRowsOfNumber } from '../contacts/skip-pending-rows.js';
import type { Database } from '../db/schema.js';
import type { Settings } from '../settings/settings.schema.js';
import { matchKeyword } from './match-keyword.js';

export type KeywordSettings = Pick<Settings, 'opt_out_keywords' | 'opt_in_keywords'>;

export interface InboundEffect {
  kind: 'opt_out' | 'opt_in' | 'reply';
  keyword: string | null;
  contactIds: number[];
  campaignId: number | null;
  /** The number the message was bound to: the chat id, or for a hidden LID the number we sent to. */
  chatId: string;
  /** Unsent campaign queue rows the opt-out stopped. */
  skippedRows: number;
  /** Unsent test-run rows the opt-out stopped. */
  skippedTestRows: number;
}

/** The campaign whose message (queue or test run) reached this chat last. */
async function lastCampaignFor(trx: Transaction<Database>, chatId: string): Promise<number | null> {
  const r = await sql<{ campaign_id: number }>`
    select campaign_id from (
      (select campaign_id, sent_at from send_queue where chat_id = ${chatId} and sent_at is not null order by sent_at desc limit 1)
      union all
      (select t.campaign_id, r.sent_at from campaign_test_run_recipients r join campaign_test_runs t on t.id = r.test_run_id
        where r.chat_id = ${chatId} and r.sent_at is not null order by r.sent_at desc limit 1)
    ) s order by sent_at desc limit 1`.execute(trx);
  return r.rows[0] ? Number(r.rows[0].campaign_id) : null;
}

/**
 * `2438…@c.us` as it is. A hidden LID (`<n>@lid`, contract §4) is the same person as the number we
 * sent to when an ack of one of our messages came back with that LID as its chat (same raw id);
 * without such a message the LID itself is blocked (nothing we send goes to it) and the operator
 * is told to opt the contact out by phone.
 */
async function numberOf(trx: Transaction<Database>, chatId: string): Promise<{ number: string; unresolvedLid: boolean }> {
  if (!chatId.endsWith('@lid')) return { number: chatId, unresolvedLid: false };
  const number = await numberForLid(trx, chatId);
  return number ? { number, unresolvedLid: false } : { number: chatId, unresolvedLid: true };
}

export async function handleInboundMessage(
  trx: Transaction<Database>,
  m: { messageEventId: number; chatId: string; body: string | null; session: string | null },
  keywords: KeywordSettings,
  now: Date,
  config?: Config,
): Promise<InboundEffect> {
  const optOut = matchKeyword(m.body, keywords.opt_out_keywords);
  const optIn = optOut ? undefined : matchKeyword(m.body, keywords.opt_in_keywords);
  const kind = optOut ? 'opt_out' : optIn ? 'opt_in' : 'reply';
  const keyword = optOut ?? optIn ?? null;
  const { number, unresolvedLid } = await numberOf(trx, m.chatId);
  // Lock order (contacts/number-block.repository.ts): the number's row before its contact rows.
  const block = kind === 'reply' ? undefined : await lockNumber(trx, number, now);
  // One number can belong to more than one CRM record: each of them is the same person.
  const holders = trx.selectFrom('contacts').select(['id', 'name', 'opted_out']).where('chat_id', '=', number).orderBy('id');
  const contacts = await (kind === 'reply' ? holders : holders.forUpdate()).execute();
  const campaignId = await lastCampaignFor(trx, number);
  let skippedRows = 0;
  let skippedTestRows = 0;
  let changed: number[] = [];

  // Both keyword changes are audited alike: by the webhook, naming the keyword and the message.
  const audit = (entity: { type: 'contact' | 'number'; id: number | string }, action: 'contact.opt_out' | 'contact.opt_in', summary: string, details: Record<string, unknown> = {}) =>
    recordActivity(
      trx,
      {
        actor: 'webhook', action, entityType: entity.type, entityId: entity.id, campaignId, summary: summary.replace('  ', ' '),
        details: { source: 'keyword', keyword, chatId: number, ...(number !== m.chatId ? { receivedFrom: m.chatId } : {}), session: m.session, ...details, messageEventId: m.messageEventId },
      },
      config,
    );

  if (kind === 'opt_out') {
    // promise 4: the number first (the claim locks it FOR SHARE), then its rows, then every unsent
    // row for it; even when already opted out, rows a racing queue build added are stopped too.
    await optOutNumber(trx, number, { at: now, source: 'keyword', contactId: null, keyword });
    const fresh = contacts.filter((c) => !c.opted_out).map((c) => c.id);
    if (fresh.length) {
      await trx.updateTable('contacts').set({ opted_out: true, opted_out_at: now, opted_out_source: 'keyword', updated_at: now }).where('id', 'in', fresh).execute();
    }
    const skipped = await skipPendingRowsOfNumber(trx, { chatId: number }, 'opted_out', now);
    skippedRows = skipped.count;
    skippedTestRows = skipped.testRows;
    const rowsNote = [skipped.count ? `${skipped.count} unsent queue row(s) skipped` : '', skipped.testRows ? `${skipped.testRows} unsent test-run row(s) skipped` : '']
      .filter(Boolean)
      .join(', ');
    const details = { skippedRows: skipped.count, campaignIds: skipped.campaignIds, skippedTestRows: skipped.testRows, testRunIds: skipped.testRunIds };
    const news = !block!.optedOut || skipped.count + skipped.testRows > 0;
    changed = news ? (contacts.length ? contacts.map((c) => c.id) : []) : fresh;
    for (const c of contacts.filter((x) => changed.includes(x.id))) {
      await audit({ type: 'contact', id: c.id }, 'contact.opt_out', `Opted out contact #${c.id} ${c.name ?? ''} (number ${number}) by the keyword "${keyword}" sent on WhatsApp${rowsNote ? `; ${rowsNote}` : ''}`, details);
    }
    if (contacts.length === 0 && news) {
      await audit({ type: 'number', id: number }, 'contact.opt_out', `Opted out number ${number} (no contact has it) by the keyword "${keyword}" sent on WhatsApp${rowsNote ? `; ${rowsNote}` : ''}`, details);
    }
    if (news) {
      await trx
        .insertInto('notifications')
        .values({
          at: now, level: unresolvedLid ? 'warning' : 'info', kind: 'opt_out', campaign_id: campaignId, test_run_id: null,
          title: `${number} opted out ("${keyword}")`,
          body: unresolvedLid
            ? `WhatsApp hid this person's phone number behind ${number}, and none of our messages went to it, so no contact could be matched: find the person and run \`campaign contacts opt-out <phone>\`.${rowsNote ? ` ${rowsNote}.` : ''}`
            : rowsNote ? `${rowsNote}.` : null,
        })
        .execute();
    }
  } else if (kind === 'opt_in' && (block!.optedOut || contacts.some((c) => c.opted_out))) {
    // START lifts the person's own opt-out only: an operator's suppression stays.
    changed = await liftOptOut(trx, number, now);
    for (const c of contacts.filter((x) => changed.includes(x.id))) {
      await audit({ type: 'contact', id: c.id }, 'contact.opt_in', `Opted in contact #${c.id} ${c.name ?? ''} (number ${number}) again by the keyword "${keyword}" sent on WhatsApp`);
    }
    if (changed.length === 0) await audit({ type: 'number', id: number }, 'contact.opt_in', `Opted in number ${number} again by the keyword "${keyword}" sent on WhatsApp`);
  }

  await trx
    .insertInto('replies')
    .values({ received_at: now, chat_id: m.chatId, contact_id: contacts[0]?.id ?? null, campaign_id: campaignId, kind, body: m.body, message_event_id: m.messageEventId })
    .execute();
  return { kind, keyword, contactIds: kind === 'reply' ? contacts.map((c) => c.id) : changed, campaignId, chatId: number, skippedRows, skippedTestRows };
}
