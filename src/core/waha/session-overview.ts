// `campaign sessions`: what WAHA says about each session next to what the pacing state says,
// so "why is this session not sending?" has one answer. WAHA is asked once; the counts come
// from session_sends, the ledger the claim itself counts (promise 1).
import { DateTime } from 'luxon';
import { sql } from 'kysely';
import type { Context } from '../context.js';
import { getSettings } from '../settings/settings.service.js';
import type { WahaSession } from './waha-client.js';

export interface SessionOverviewRow {
  name: string;
  /** WAHA's status; null when only the campaign database knows the session (WAHA no longer lists it). */
  status: string | null;
  engine: string | null;
  me: string | null;
  sendsToday: number;
  sendsLastHour: number;
  dailyLimit: number;
  hourlyLimit: number;
  sendsInBlock: number;
  pauseAfterSends: number;
  nextAllowedAt: string | null;
  blockPauseUntil: string | null;
  /** Why the worker holds this session's sends, as recorded when WAHA refused one. */
  notWorkingReason: string | null;
  lastSendAt: string | null;
}

export interface SessionOverview {
  wahaBaseUrl: string;
  timezone: string;
  at: string;
  sessions: SessionOverviewRow[];
}

interface PacingRow {
  session: string;
  not_working_reason: string | null;
  next_allowed_at: Date | null;
  block_pause_until: Date | null;
  sends_in_block: number;
  last_send_at: Date | null;
  today: number;
  last_hour: number;
}

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/** Pacing state and send counts of every session either WAHA or the database knows. */
export async function sessionOverview(ctx: Context, waha: { baseUrl: string; listSessions(): Promise<WahaSession[]> }): Promise<SessionOverview> {
  const sessions = await waha.listSessions();
  const settings = await getSettings(ctx.db);
  const now = ctx.clock.now();
  // "Today" is the calendar day of the configured timezone, as the daily limit counts it.
  const dayStart = DateTime.fromJSDate(now).setZone(settings.timezone).startOf('day').toJSDate();
  const hourAgo = new Date(now.getTime() - 3_600_000);
  const names = [...new Set(sessions.map((s) => s.name))];
  const r = await sql<PacingRow>`
    with named as (
      select session from session_pacing
      union select session from session_sends where at >= least(${dayStart}::timestamptz, ${hourAgo}::timestamptz)
      union select unnest(${names}::text[])
    )
    select n.session, p.not_working_reason, p.next_allowed_at, p.block_pause_until, coalesce(p.sends_in_block, 0)::int as sends_in_block,
           p.last_send_at,
           (select count(*) from session_sends s where s.session = n.session and s.at >= ${dayStart})::int as today,
           (select count(*) from session_sends s where s.session = n.session and s.at > ${hourAgo})::int as last_hour
    from named n left join session_pacing p on p.session = n.session
    order by n.session`.execute(ctx.db);
  const byName = new Map(sessions.map((s) => [s.name, s]));
  const future = (d: Date | null) => (d && d.getTime() > now.getTime() ? d : null);
  return {
    wahaBaseUrl: waha.baseUrl,
    timezone: settings.timezone,
    at: now.toISOString(),
    sessions: r.rows.map((p) => {
      const w = byName.get(p.session);
      return {
        name: p.session,
        status: w?.status ?? null,
        engine: w?.engine ?? null,
        me: w?.me?.id ?? null,
        sendsToday: p.today,
        sendsLastHour: p.last_hour,
        dailyLimit: settings.daily_limit,
        hourlyLimit: settings.hourly_limit,
        sendsInBlock: p.sends_in_block,
        pauseAfterSends: settings.pause_after_sends,
        nextAllowedAt: iso(future(p.next_allowed_at)),
        blockPauseUntil: iso(future(p.block_pause_until)),
        notWorkingReason: p.not_working_reason,
        lastSendAt: iso(p.last_send_at),
      };
    }),
  };
}
