// An inbound `message` (from a contact): an opt-out keyword opts the contact out at once and stops
// every unsent row in the same transaction (promise 4); an opt-in keyword re-subscribes; anything
// else is a reply to the campaign that last messaged the chat.
import { sql, type Transaction } from 'kysely';
import { recordActivity } from '../audit/audit.repository.js';
import type { Config } from '../config.js';
import { skipPendingRowsForContact } from '../contacts/skip-pending-rows.js';
import type { Database } from '../db/schema.js';
import type { Settings } from '../settings/settings.schema.js';
import { matchKeyword } from './match-keyword.js';

export type KeywordSettings = Pick<Settings, 'opt_out_keywords' | 'opt_in_keywords'>;

export interface InboundEffect {
  kind: 'opt_out' | 'opt_in' | 'reply';
  keyword: string | null;
  contactIds: number[];
  campaignId: number | null;
  /** Unsent queue rows the opt-out stopped. */
  skippedRows: number;
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
  // One chat can belong to more than one CRM record: each of them is the same person.
  const contacts = await trx.selectFrom('contacts').select(['id', 'name', 'opted_out']).where('chat_id', '=', m.chatId).orderBy('id').forUpdate().execute();
  const campaignId = await lastCampaignFor(trx, m.chatId);
  let skippedRows = 0;
  const changed: number[] = [];

  // Both keyword changes are audited alike: by the webhook, naming the keyword and the message.
  const audit = (c: { id: number }, action: 'contact.opt_out' | 'contact.opt_in', summary: string, details: Record<string, unknown> = {}) =>
    recordActivity(
      trx,
      {
        actor: 'webhook', action, entityType: 'contact', entityId: c.id, campaignId, summary: summary.replace('  ', ' '),
        details: { source: 'keyword', keyword, chatId: m.chatId, session: m.session, ...details, messageEventId: m.messageEventId },
      },
      config,
    );

  for (const c of contacts) {
    if (kind === 'opt_out') {
      if (!c.opted_out) {
        await trx.updateTable('contacts').set({ opted_out: true, opted_out_at: now, opted_out_source: 'keyword', updated_at: now }).where('id', '=', c.id).execute();
      }
      // Even when already opted out: rows a racing queue build added are stopped too.
      const skipped = await skipPendingRowsForContact(trx, c.id, 'opted_out', now);
      skippedRows += skipped.count;
      if (c.opted_out && skipped.count === 0) continue;
      changed.push(c.id);
      await audit(
        c,
        'contact.opt_out',
        `Opted out contact #${c.id} ${c.name ?? ''} by the keyword "${keyword}" sent on WhatsApp${skipped.count ? `; ${skipped.count} unsent queue row(s) skipped` : ''}`,
        { skippedRows: skipped.count, campaignIds: skipped.campaignIds },
      );
    } else if (kind === 'opt_in' && c.opted_out) {
      await trx.updateTable('contacts').set({ opted_out: false, opted_out_at: null, opted_out_source: null, updated_at: now }).where('id', '=', c.id).execute();
      changed.push(c.id);
      await audit(c, 'contact.opt_in', `Opted in contact #${c.id} ${c.name ?? ''} again by the keyword "${keyword}" sent on WhatsApp`);
    }
  }

  await trx
    .insertInto('replies')
    .values({ received_at: now, chat_id: m.chatId, contact_id: contacts[0]?.id ?? null, campaign_id: campaignId, kind, body: m.body, message_event_id: m.messageEventId })
    .execute();
  if (kind === 'opt_out' && changed.length > 0) {
    await trx
      .insertInto('notifications')
      .values({
        at: now, level: 'info', kind: 'opt_out', campaign_id: campaignId, test_run_id: null,
        title: `${m.chatId} opted out ("${keyword}")`,
        body: skippedRows > 0 ? `${skippedRows} unsent queue row(s) skipped.` : null,
      })
      .execute();
  }
  return { kind, keyword, contactIds: kind === 'reply' ? contacts.map((c) => c.id) : changed, campaignId, skippedRows };
}
