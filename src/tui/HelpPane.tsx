// `?`: the keys.
import { Box, Text } from 'ink';
import { cut, rule } from './format.js';

export const KEYS: Array<[string, string]> = [
  ['up / down (k / j)', 'select a campaign or test run'],
  ['s', 'start the selected approved campaign (asks y/n)'],
  ['p', 'pause the selected running campaign or test run (asks y/n)'],
  ['r', 'resume the selected paused one (asks y/n)'],
  ['c', 'cancel the selected one: rows that never left are skipped (asks y/n)'],
  ['/', 'type a filter for the worker events (Enter keeps it)'],
  ['Esc', 'clear the filter and the last message'],
  ['?', 'show or hide this help'],
  ['q (or Ctrl-C)', 'quit'],
];

export function HelpPane({ width }: { width: number }) {
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">{rule('Keys', width)}</Text>
      {KEYS.map(([k, what]) => (
        <Text key={k} wrap="truncate-end">
          <Text bold>{k.padEnd(18)}</Text>
          {cut(what, Math.max(0, width - 18))}
        </Text>
      ))}
      <Text dimColor wrap="truncate-end">
        {cut('Scripts and monitoring: `campaign status --json`, `campaign health --json`. Press ? or Esc to go back.', width)}
      </Text>
    </Box>
  );
}
