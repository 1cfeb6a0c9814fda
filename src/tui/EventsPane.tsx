// The worker-event stream, following: newest at the bottom, narrowed by the filter typed after `/`.
import { Box, Text } from 'ink';
import type { WorkerEventRow } from '../core/worker/list-worker-events.js';
import { cell, clock, cut, filterEvents, rule } from './format.js';

const BAD = new Set(['failed', 'worker_error', 'unknown_outcome', 'session_not_working']);
const GOOD = new Set(['sent', 'completed', 'reconciled', 'resumed']);

export function eventLine(e: WorkerEventRow, width: number, timezone: string): string {
  const owner = e.testRunId !== null ? `t${e.testRunId}` : e.campaignId !== null ? `c${e.campaignId}` : '';
  const row = e.queueId ?? e.testRecipientId;
  const head = `${clock(e.at, timezone)} ${cell(e.event, 15)} ${cell(owner, 5)} `;
  const mid = width >= 72 ? `${cell(e.session ?? '', 10)} ${cell(row !== null ? `#${row}` : '', 7)} ` : '';
  const tail = [e.status, e.reason].filter(Boolean).join(' ');
  return cut(`${head}${mid}${tail}`, width);
}

export interface EventsPaneProps {
  events: WorkerEventRow[];
  filter: string;
  editing: boolean;
  width: number;
  height: number;
  timezone: string;
}

export function EventsPane({ events, filter, editing, width, height, timezone }: EventsPaneProps) {
  const matching = filterEvents(events, filter);
  const lines = Math.max(1, height - 1);
  const shown = matching.slice(-lines);
  const title = `Worker events, following${filter ? ` | filter "${filter}"${editing ? '_' : ''}: ${matching.length} of ${events.length}` : editing ? ' | filter: _' : ''}`;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">{rule(title, width)}</Text>
      {shown.length === 0 ? (
        <Text dimColor wrap="truncate-end">
          {cut(filter ? `No event matches "${filter}" (Esc clears the filter).` : 'No worker event yet: is `campaign worker` running?', width)}
        </Text>
      ) : (
        shown.map((e) => (
          <Text key={e.id} wrap="truncate-end" color={BAD.has(e.event) ? 'red' : GOOD.has(e.event) ? 'green' : undefined}>
            {eventLine(e, width, timezone)}
          </Text>
        ))
      )}
    </Box>
  );
}
