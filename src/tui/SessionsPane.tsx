// Session pacing: per WAHA session, today's and the last hour's sends against the limits as
// bars, whether the window is open, and the one reason (if any) a send cannot start now.
import { Box, Text } from 'ink';
import type { SessionStatus } from '../core/status/index.js';
import { bar, cell, clock, cut, relative, rule } from './format.js';

export function sessionLine(s: SessionStatus, width: number): { name: string; status: string; rest: string } {
  const barWidth = width >= 100 ? 14 : width >= 72 ? 8 : 0;
  const nameW = width >= 72 ? 14 : 10;
  const statusW = width >= 72 ? 12 : 9;
  const day = `day ${barWidth ? `${bar(s.sentToday, s.dailyLimit, barWidth)} ` : ''}${s.sentToday}/${s.dailyLimit}`;
  const hour = `hour ${barWidth ? `${bar(s.lastHour, s.hourlyLimit, barWidth)} ` : ''}${s.lastHour}/${s.hourlyLimit}`;
  const win = width >= 72 ? `  window ${s.window.open ? 'open' : 'closed'}` : '';
  const status = s.inWaha === false ? 'not in WAHA' : (s.wahaStatus ?? '?');
  return { name: cell(s.name, nameW), status: cell(status, statusW), rest: cut(` ${day}  ${hour}${win}`, Math.max(0, width - nameW - statusW - 1)) };
}

export function sessionHold(s: SessionStatus, timezone: string, now: string): string {
  if (s.canSendNow) return `  can send now${s.lastSendAt ? `; last send ${relative(s.lastSendAt, now)}` : ''}`;
  const next = s.nextAllowedSendAt ? `; next send ${clock(s.nextAllowedSendAt, timezone, now)} (${relative(s.nextAllowedSendAt, now)})` : '';
  return `  held: ${s.heldMessage ?? s.heldBy}${next}`;
}

export interface SessionsPaneProps {
  sessions: SessionStatus[];
  width: number;
  timezone: string;
  now: string;
  maxSessions?: number;
}

export function SessionsPane({ sessions, width, timezone, now, maxSessions = 4 }: SessionsPaneProps) {
  const shown = sessions.slice(0, Math.max(1, maxSessions));
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">{rule('Session pacing', width)}</Text>
      {sessions.length === 0 ? (
        <Text dimColor wrap="truncate-end">
          {cut('No WAHA session known yet: set WAHA_BASE_URL, or start a campaign on a session.', width)}
        </Text>
      ) : null}
      {shown.map((s) => {
        const line = sessionLine(s, width);
        const working = s.wahaStatus === 'WORKING';
        return (
          <Box key={s.name} flexDirection="column">
            <Text wrap="truncate-end">
              {line.name} <Text color={working ? 'green' : s.wahaStatus === null && s.inWaha === null ? undefined : 'red'}>{line.status}</Text>
              {line.rest}
            </Text>
            <Text wrap="truncate-end" color={s.canSendNow ? 'green' : s.heldBy === 'session_not_working' ? 'red' : 'yellow'}>
              {cut(sessionHold(s, timezone, now), width)}
            </Text>
          </Box>
        );
      })}
      {sessions.length > shown.length ? (
        <Text dimColor wrap="truncate-end">
          {cut(`+${sessions.length - shown.length} more session(s): \`campaign sessions\``, width)}
        </Text>
      ) : null}
    </Box>
  );
}

export function sessionsHeight(count: number, maxSessions: number): number {
  if (count === 0) return 2;
  const shown = Math.min(count, Math.max(1, maxSessions));
  return 1 + shown * 2 + (count > shown ? 1 : 0);
}
