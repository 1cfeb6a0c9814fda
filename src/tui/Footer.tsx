// The bottom line: a pending confirmation, the filter being typed, the last action's result,
// or the key hints.
import { Text } from 'ink';
import { cut } from './format.js';

export interface FooterProps {
  width: number;
  confirm?: string | null;
  editing?: boolean;
  filter?: string;
  message?: { text: string; error: boolean } | null;
}

export function Footer({ width, confirm, editing, filter, message }: FooterProps) {
  if (confirm) {
    return (
      <Text color="yellow" bold wrap="truncate-end">
        {cut(`${confirm}? y to confirm, any other key to keep it as it is`, width)}
      </Text>
    );
  }
  if (editing) return <Text wrap="truncate-end">{cut(`filter events: ${filter ?? ''}_   (Enter keeps it, Esc clears it)`, width)}</Text>;
  if (message) {
    return (
      <Text color={message.error ? 'red' : 'green'} wrap="truncate-end">
        {cut(message.text, width)}
      </Text>
    );
  }
  return (
    <Text dimColor wrap="truncate-end">
      {cut('up/down select  s start  p pause  r resume  c cancel  / filter  ? keys  q quit', width)}
    </Text>
  );
}
