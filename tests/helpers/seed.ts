// Shared seeding for tests on a real database: contacts with valid DRC WhatsApp numbers, a
// campaign taken all the way to RUNNING, and the "always open, nothing held back" settings.
import type { Insertable, Kysely } from 'kysely';
import { startCampaign } from '../../src/core/campaigns/campaign-control.js';
import { approveCampaign, createCampaign } from '../../src/core/campaigns/campaign.service.js';
import type { Context } from '../../src/core/context.js';
import type { ContactsTable, Database } from '../../src/core/db/schema.js';
import { buildQueue } from '../../src/core/queue/build-queue.js';

/** A zone whose local time at `at` is far from the 23:59–00:00 gap of an "always open" window. */
export function openZone(at: Date): string {
  const h = at.getUTCHours();
  return h >= 1 && h <= 22 ? 'UTC' : 'Etc/GMT+12';
}

/** Settings under which nothing but the test's own limits holds a send back: a window open now (see openZone), no delay, no pause. */
export function alwaysOpenSettings(at: Date = new Date()) {
  return {
    daily_limit: 1000, hourly_limit: 1000, delay_min_seconds: 0, delay_max_seconds: 0, pause_after_sends: 1000, pause_min_minutes: 0, pause_max_minutes: 0,
    sending_window_start: '00:00', sending_window_end: '23:59', sending_days: [1, 2, 3, 4, 5, 6, 7], timezone: openZone(at), poll_interval_seconds: 1,
  };
}

type ContactFields = Pick<Insertable<ContactsTable>, 'name' | 'first_name' | 'brand'> & Partial<Omit<Insertable<ContactsTable>, 'chat_id' | 'phone_raw'>>;

/** A contact row with the valid number 2438xxxxxxxx (`n`'s last 8 digits), registered with its brand; crm id `crm-<chat id>` unless given. */
export function drcContact(n: number, fields: ContactFields): Insertable<ContactsTable> & { chat_id: string } {
  const chat = `2438${String(n).slice(-8)}@c.us`;
  return { crm_id: `crm-${chat}`, phone_raw: `+${chat.split('@')[0]}`, chat_id: chat, phone_valid: true, registered_brands: [fields.brand!], ...fields };
}

/**
 * `count` store contacts of one brand: crm ids `${crmPrefix}-${i}`, names `${label} ${i}` (first
 * names `${label}${i}`), numbers from 2438·`first`. Returns their ids and chat ids in order.
 */
export async function seedContacts(
  db: Kysely<Database>,
  o: { count: number; first: number; crmPrefix: string; label: string; brand: string; city: string; storeId: string },
): Promise<Array<{ id: number; chat_id: string | null }>> {
  const rows = Array.from({ length: o.count }, (_, i) =>
    drcContact(o.first + i, { crm_id: `${o.crmPrefix}-${i}`, name: `${o.label} ${i}`, first_name: `${o.label}${i}`, city: o.city, source: 'store', store_id: o.storeId, brand: o.brand }),
  );
  return db.insertInto('contacts').values(rows).returning(['id', 'chat_id']).execute();
}

/** A simple text campaign for `brand`, approved, queued and started. Returns its id and how many rows the queue build queued. */
export async function startedCampaign(ctx: Context, o: { name: string; brand: string; session?: string; text?: string }): Promise<{ id: number; queued: number }> {
  const { campaign } = await createCampaign(ctx, { name: o.name, brand: o.brand, ...(o.session ? { session: o.session } : {}), template: { mode: 'simple', type: 'text', text: o.text ?? 'Hi {{first_name}}' } });
  await approveCampaign(ctx, String(campaign.id));
  const { queued } = await buildQueue(ctx, String(campaign.id));
  await startCampaign(ctx, String(campaign.id));
  return { id: campaign.id, queued };
}

/** An advanced text template using the contact's and the campaign's variables. */
export const TEXT_TEMPLATE = { mode: 'advanced', type: 'text', payload: { text: 'Hi {{first_name}}, {{brand}} news for {{city}}.' } };

/** An experimental buttons template with its saved text fallback (for WAHA's 501). */
export const BUTTONS_TEMPLATE = {
  mode: 'advanced',
  type: 'buttons',
  experimental: true,
  fallback: { type: 'text', payload: { text: '{{first_name}}: {{brand}} fallback' } },
  payload: { header: '{{brand}}', body: '{{first_name}}, how are you?', footer: 'Reply any time', buttons: [{ type: 'reply', text: 'Good' }] },
};

/** A DRAFT campaign for the brand Acme; returns its id. */
export async function draftCampaign(ctx: Context, name: string, template: Record<string, unknown> = TEXT_TEMPLATE): Promise<number> {
  return (await createCampaign(ctx, { name, brand: 'Acme', template })).campaign.id;
}
