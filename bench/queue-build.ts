// Queue build of N contacts (default 100,000): the real build (classification, exclusions, per-row
// rendering in SQL) against a plain INSERT … SELECT of the same rows with a constant payload,
// measured in the same run. Aim: 3× or less.
import { approveCampaign, createCampaign } from '../src/core/campaigns/campaign.service.js';
import { buildQueue } from '../src/core/queue/build-queue.js';
import { figure, type BenchContext, type Figure } from './measure.js';
import { seedContacts, withScratchDatabase } from './scratch-db.js';

export async function benchQueueBuild(ctx?: BenchContext, options: { contacts?: number } = {}): Promise<Figure[]> {
  const n = options.contacts ?? Number(process.env.BENCH_QUEUE_CONTACTS ?? 100_000);
  return withScratchDatabase('queue', async (db) => {
    ctx?.progress(`seeding ${n} contacts`);
    await seedContacts(db, n);
    await db.pool.query('analyze contacts');
    const template = { mode: 'simple', type: 'text', text: 'Hi {{first_name}}, {{brand}} news for {{city}} (store {{store_id}})' };
    const real = (await createCampaign(db.ctx(), { name: 'bench real', brand: 'vaseline', template })).campaign;
    const plain = (await createCampaign(db.ctx(), { name: 'bench plain', brand: 'vaseline', template })).campaign;
    await approveCampaign(db.ctx(), String(real.id));

    ctx?.progress('plain INSERT … SELECT');
    let t = performance.now();
    await db.pool.query(
      `insert into send_queue (campaign_id, contact_id, chat_id, message_type, endpoint, rendered_payload)
       select $1, id, chat_id, 'text', '/api/sendText', '{"text":"x"}'::jsonb from contacts where registered_brands @> array['vaseline']`,
      [plain.id],
    );
    const baseline = (performance.now() - t) / 1000;

    ctx?.progress('campaign queue build');
    t = performance.now();
    const r = await buildQueue(db.ctx(), String(real.id));
    const seconds = (performance.now() - t) / 1000;
    if (r.queued !== n) throw new Error(`expected ${n} queued, got ${r.queued}`);
    return [
      figure(`queue build, ${n.toLocaleString('en-US')} contacts`, seconds, 's', { name: 'plain INSERT … SELECT', value: baseline }, 'aim: ratio 3× or less'),
      figure('queue build rate', n / seconds, 'rows/s'),
    ];
  });
}
