// `campaign forecast`: when a campaign's remaining rows would all have left, and how many per
// day, by running the worker's own pacing function over them on a simulated clock.
import { sql } from 'kysely';
import type { Context } from '../context.js';
import { CampaignError } from '../errors.js';
import { forecast } from '../pacing/index.js';
import { getSettings } from '../settings/settings.service.js';
import { loadPacingState } from '../worker/claim-next.js';
import { getCampaign } from './campaign.repository.js';

export interface CampaignForecast {
  campaignId: number;
  name: string;
  status: string;
  session: string;
  remaining: number;
  /** Other running campaigns' rows on the same session, sent in the same pacing budget. */
  sharedRemaining: number;
  finishAt: string | null;
  perDay: Array<{ date: string; sends: number }>;
  timezone: string;
  dailyLimit: number;
  hourlyLimit: number;
  note: string;
}

export async function forecastCampaign(ctx: Context, ref: string): Promise<CampaignForecast> {
  const c = await getCampaign(ctx.db, ref);
  if (c.queueBuiltAt === null) {
    throw new CampaignError('INVALID_TRANSITION', `Campaign ${c.id} has no queue yet, so there is nothing to forecast: approve it and run \`campaign queue build ${c.id}\`.`, { campaignId: c.id });
  }
  const now = ctx.clock.now();
  const settings = await getSettings(ctx.db);
  const r = await sql<{ mine: number; shared: number }>`
    select count(*) filter (where q.campaign_id = ${c.id})::int as mine,
           count(*) filter (where q.campaign_id <> ${c.id})::int as shared
    from send_queue q join campaigns k on k.id = q.campaign_id
    where q.status in ('PENDING','PAUSED') and k.waha_session = ${c.session}
      and (q.campaign_id = ${c.id} or k.status = 'RUNNING')`.execute(ctx.db);
  const { mine, shared } = r.rows[0]!;
  const state = await loadPacingState(ctx.db, c.session, settings, now);
  // Rows of campaigns already running on the session go first (older rows are claimed first).
  const f = forecast({ remaining: mine + shared, state, settings, now });
  let perDay = f.perDay;
  if (shared > 0) {
    let skip = shared;
    perDay = [];
    for (const d of f.perDay) {
      const take = Math.min(skip, d.sends);
      skip -= take;
      if (d.sends - take > 0) perDay.push({ date: d.date, sends: d.sends - take });
    }
  }
  return {
    campaignId: c.id,
    name: c.name,
    status: c.status,
    session: c.session,
    remaining: mine,
    sharedRemaining: shared,
    finishAt: mine === 0 ? now.toISOString() : (f.finishAt?.toISOString() ?? null),
    perDay,
    timezone: settings.timezone,
    dailyLimit: settings.daily_limit,
    hourlyLimit: settings.hourly_limit,
    note: 'Simulated with the worker\'s own pacing rules and the current settings; WAHA outages, pauses and retries move it later.',
  };
}
