// The top line: whether the data is live, and when it was read.
import { Text } from 'ink';
import { clock, cut } from './format.js';
import type { TuiData } from './tui-source.js';

export function Header({ data, width }: { data: TuiData; width: number }) {
  const tz = data.snapshot?.timezone ?? 'UTC';
  const when = data.updatedAt ? `updated ${clock(data.updatedAt, tz)} ${tz}` : '';
  if (!data.connected && data.error) {
    const rest = ` ${data.snapshot ? `showing data from ${clock(data.updatedAt, tz)}` : 'no data yet'}; retrying every second: ${data.error}`;
    return (
      <Text wrap="truncate-end">
        <Text bold>campaign </Text>
        <Text color="red" bold inverse>
          {' DISCONNECTED '}
        </Text>
        {cut(rest, Math.max(0, width - 24))}
      </Text>
    );
  }
  if (!data.connected) return <Text wrap="truncate-end">{cut('campaign  connecting to the campaign database...', width)}</Text>;
  return (
    <Text wrap="truncate-end">
      <Text bold>campaign </Text>
      <Text color="green">CONNECTED</Text>
      {cut(`  ${when}   ? keys  q quit`, Math.max(0, width - 19))}
    </Text>
  );
}
