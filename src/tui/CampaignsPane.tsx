// Campaigns: running, paused and ready-to-start campaigns and test runs, one line each with a
// progress bar; the selected one (arrow keys) gets a second line saying why it is or is not moving.
import { Box, Text } from 'ink';
import type { CampaignRow } from './campaign-rows.js';
import { bar, cell, clock, cut, percent, relative, rule } from './format.js';

interface Columns {
  status: number;
  session: number;
  bar: number;
  count: number;
  pct: number;
  name: number;
}

/** Which columns fit: the name takes what is left, never less than 6 characters. */
export function campaignColumns(width: number): Columns {
  const wide = width >= 100;
  const mid = width >= 64;
  const c = { status: width >= 80 ? 12 : 8, session: wide ? 12 : 0, bar: wide ? 14 : mid ? 10 : 0, count: mid ? 9 : 0, pct: 4, name: 0 };
  const fixed = 2 + 5 + 1 + (c.status + 1) + (c.session ? c.session + 1 : 0) + (c.bar ? c.bar + 1 : 0) + (c.count ? c.count + 1 : 0) + c.pct;
  c.name = Math.max(6, width - fixed - 1);
  return c;
}

function statusColor(status: string): 'green' | 'yellow' | 'red' | 'cyan' | undefined {
  if (status === 'RUNNING') return 'green';
  if (status === 'PAUSED') return 'yellow';
  if (status === 'APPROVED') return 'cyan';
  return undefined;
}

export function campaignLine(r: CampaignRow, selected: boolean, width: number): { before: string; status: string; after: string } {
  const c = campaignColumns(width);
  const status = r.status === 'PAUSED' && r.autoPaused ? (c.status >= 12 ? 'PAUSED(auto)' : 'PAUSED!') : r.status;
  const before = `${selected ? '> ' : '  '}${cell(r.label, 5)} ${cell(r.name, c.name)} `;
  const parts: string[] = [];
  if (c.session) parts.push(cell(r.session, c.session));
  if (c.bar) parts.push(bar(r.done, r.total, c.bar));
  if (c.count) parts.push(cell(`${r.done}/${r.total}`, c.count, true));
  parts.push(cell(r.total === 0 ? '' : percent(r.done / r.total), c.pct, true));
  return { before, status: cell(status, c.status), after: cut(` ${parts.join(' ')}`, Math.max(0, width - before.length - c.status)) };
}

export function campaignDetail(r: CampaignRow, timezone: string, now: string): string {
  // Short facts first, the (often long) reason last, since the line is cut at the width.
  const bits: string[] = [];
  if (r.status !== 'APPROVED') {
    bits.push([`${r.sent} sent`, `${r.pending} pending`, r.sending ? `${r.sending} sending` : '', r.failed ? `${r.failed} failed` : '', r.unknown ? `${r.unknown} UNKNOWN` : ''].filter(Boolean).join(', '));
  }
  if (r.nextAttemptAt && r.status === 'RUNNING') bits.push(`next attempt ${clock(r.nextAttemptAt, timezone, now)} (${relative(r.nextAttemptAt, now)})`);
  if (r.forecastFinishAt && r.status === 'RUNNING') bits.push(`finish ~${clock(r.forecastFinishAt, timezone, now)}`);
  bits.push(r.note);
  return bits.join(' | ');
}

/** The visible slice of `count` rows, `max` high, that keeps `selected` in view. */
export function visibleWindow(count: number, selected: number, max: number): { start: number; end: number } {
  const size = Math.max(1, max);
  if (count <= size) return { start: 0, end: count };
  const start = Math.min(Math.max(0, selected - Math.floor(size / 2)), count - size);
  return { start, end: start + size };
}

export interface CampaignsPaneProps {
  rows: CampaignRow[];
  selected: number;
  width: number;
  timezone: string;
  now: string;
  maxRows?: number;
}

export function CampaignsPane({ rows, selected, width, timezone, now, maxRows = 8 }: CampaignsPaneProps) {
  const { start, end } = visibleWindow(rows.length, selected, maxRows);
  const current = rows[selected];
  const more = rows.length - (end - start);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">{rule(`Campaigns (${rows.length})${more > 0 ? ` ${start + 1}-${end}` : ''}`, width)}</Text>
      {rows.length === 0 ? (
        <Text dimColor wrap="truncate-end">
          {cut('Nothing running, paused or ready to start. Approve a campaign and build its queue; it shows here and s starts it.', width)}
        </Text>
      ) : (
        rows.slice(start, end).map((r, i) => {
          const line = campaignLine(r, start + i === selected, width);
          return (
            <Text key={r.key} wrap="truncate-end" bold={start + i === selected}>
              {line.before}
              <Text color={statusColor(r.status)}>{line.status}</Text>
              {line.after}
            </Text>
          );
        })
      )}
      {current ? (
        <Text dimColor wrap="truncate-end">
          {cut(`  ${campaignDetail(current, timezone, now)}`, width)}
        </Text>
      ) : null}
    </Box>
  );
}

export function campaignsHeight(rows: number, maxRows: number): number {
  return 1 + (rows === 0 ? 1 : Math.min(rows, Math.max(1, maxRows)) + 1);
}
