// Per WAHA session: what it sent against its limits and whether a send may start now, answered
// by the same pure decidePacing the worker's claim uses on the same pacing state (promise 1),
// so the screen can never disagree with the worker about why nothing is leaving.
import { sql } from 'kysely';
import type { Context } from '../context.js';
import { decidePacing, isSendingTime } from '../pacing/index.js';
import { describeDays } from '../pacing/pacing-message.js';
import type { Settings } from '../settings/settings.schema.js';
import type { WahaSession } from '../waha/waha-client.js';
import { loadPacingStates } from '../worker/claim-next.js';
import type { SessionStatus } from './status-types.js';

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/**
 * Every session someone cares about: the ones WAHA lists, the ones with pacing state, and the
 * ones a running, paused or approved campaign or test run names (even if WAHA lost them).
 */
export async function sessionStatuses(ctx: Context, settings: Settings, now: Date, waha: WahaSession[] | null): Promise<SessionStatus[]> {
  const known = await sql<{ session: string; last_send_at: Date | null; in_use: boolean }>`
    with named as (
      select session from session_pacing
      union select waha_session from campaigns where status in ('RUNNING','PAUSED','APPROVED') and not archived
      union select waha_session from campaign_test_runs where status in ('RUNNING','PAUSED')
      union select unnest(${(waha ?? []).map((s) => s.name)}::text[])
    )
    select n.session, p.last_send_at,
           (exists (select 1 from campaigns c where c.waha_session = n.session and c.status = 'RUNNING')
            or exists (select 1 from campaign_test_runs t where t.waha_session = n.session and t.status = 'RUNNING')) as in_use
    from named n left join session_pacing p on p.session = n.session
    order by n.session`.execute(ctx.db);
  const byName = new Map((waha ?? []).map((s) => [s.name, s]));
  const window = {
    open: isSendingTime(now.getTime(), settings),
    start: settings.sending_window_start,
    end: settings.sending_window_end,
    days: describeDays(settings.sending_days),
    timezone: settings.timezone,
  };
  const states = await loadPacingStates(ctx.db, known.rows.map((k) => k.session), settings, now);
  const out: SessionStatus[] = [];
  for (const k of known.rows) {
    const state = states.get(k.session)!;
    const w = byName.get(k.session);
    const lastHour = state.recentSends.filter((d) => d.getTime() <= now.getTime() && d.getTime() > now.getTime() - 3_600_000).length;
    const decision = decidePacing(state, settings, now);
    const wahaDown = waha !== null && (w === undefined || w.status !== 'WORKING');
    let heldBy: SessionStatus['heldBy'] = null;
    let heldMessage: string | null = null;
    let next: string | null = now.toISOString();
    if (state.notWorkingReason || wahaDown) {
      heldBy = 'session_not_working';
      heldMessage = state.notWorkingReason ?? (w ? `WAHA reports the session as ${w.status}` : 'WAHA does not list this session');
      next = null;
    } else if (!decision.ok) {
      heldBy = decision.reason;
      heldMessage = decision.message;
      next = decision.until.toISOString();
    }
    out.push({
      name: k.session,
      wahaStatus: w?.status ?? null,
      inWaha: waha === null ? null : w !== undefined,
      me: w?.me?.id ?? null,
      engine: w?.engine ?? null,
      sentToday: state.sendsToday,
      dailyLimit: settings.daily_limit,
      lastHour,
      hourlyLimit: settings.hourly_limit,
      sendsInBlock: state.sendsInBlock,
      pauseAfterSends: settings.pause_after_sends,
      window,
      canSendNow: heldBy === null,
      heldBy,
      heldMessage,
      nextAllowedSendAt: next,
      notWorkingReason: state.notWorkingReason,
      lastSendAt: iso(k.last_send_at),
      inUse: Boolean(k.in_use),
    });
  }
  return out;
}
