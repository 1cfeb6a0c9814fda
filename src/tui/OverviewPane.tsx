// Overview: every component as a chip (up / DOWN / not set) and what needs a person, worst first.
import { Box, Text } from 'ink';
import type { AttentionItem, ComponentStatus, StatusSnapshot } from '../core/status/index.js';
import { clock, cut, relative, rule } from './format.js';

interface Chip {
  text: string;
  color: 'green' | 'red' | 'yellow' | 'gray' | undefined;
}

export function componentChip(c: ComponentStatus, snapshot: Pick<StatusSnapshot, 'timezone' | 'at' | 'lastWebhookAt' | 'workers'>): Chip {
  const name = cut(c.name, 24);
  const latency = c.latencyMs !== null && c.state === 'up' ? ` ${c.latencyMs}ms` : '';
  if (c.kind === 'webhook') {
    const at = snapshot.lastWebhookAt;
    return { text: `webhook ${at ? relative(at, snapshot.at) || clock(at, snapshot.timezone) : 'none yet'}`, color: undefined };
  }
  if (c.kind === 'workers') {
    const live = snapshot.workers.filter((w) => !w.stale && !w.stopped).length;
    const stale = snapshot.workers.filter((w) => w.stale).length;
    const text = `workers ${live} live${stale ? ` ${stale} stale` : ''}`;
    return { text, color: c.state === 'down' ? 'red' : stale ? 'yellow' : live > 0 ? 'green' : 'gray' };
  }
  if (c.state === 'not_configured') return { text: `${name} not set`, color: 'gray' };
  if (c.state === 'info') return { text: `${name} ?`, color: 'gray' };
  if (c.state === 'up') return { text: `${name} up${latency}`, color: 'green' };
  return { text: `${name} DOWN`, color: c.required ? 'red' : 'yellow' };
}

/** Packs chips into lines of at most `width` columns, two spaces apart. */
export function packChips(chips: Chip[], width: number): Chip[][] {
  const lines: Chip[][] = [];
  let line: Chip[] = [];
  let used = 0;
  for (const chip of chips) {
    const text = cut(chip.text, width);
    const need = (line.length ? 2 : 0) + text.length;
    if (line.length > 0 && used + need > width) {
      lines.push(line);
      line = [];
      used = 0;
    }
    line.push({ ...chip, text });
    used += (line.length > 1 ? 2 : 0) + text.length;
  }
  if (line.length) lines.push(line);
  return lines;
}

export function overviewChips(snapshot: StatusSnapshot): Chip[] {
  return snapshot.components.map((c) => componentChip(c, snapshot));
}

function attentionLine(a: AttentionItem, width: number): string {
  // The command first: the detail is often long and gets cut.
  const text = `${a.severity === 'error' ? '!' : '*'} ${a.title}${a.command ? ` -> ${a.command}` : ''}${a.detail ? ` | ${a.detail}` : ''}`;
  return cut(text, width);
}

export function OverviewPane({ snapshot, width, maxAttention = 4 }: { snapshot: StatusSnapshot | null; width: number; maxAttention?: number }) {
  if (!snapshot) {
    return (
      <Box flexDirection="column">
        <Text wrap="truncate-end">{rule('Overview', width)}</Text>
        <Text wrap="truncate-end">{cut('Waiting for the first status from the database...', width)}</Text>
      </Box>
    );
  }
  const lines = packChips(overviewChips(snapshot), width);
  const items = snapshot.attention;
  const shown = items.slice(0, Math.max(1, maxAttention));
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">{rule('Overview', width)}</Text>
      {lines.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line.map((chip, j) => (
            <Text key={j}>
              {j > 0 ? '  ' : ''}
              <Text color={chip.color}>{chip.text}</Text>
            </Text>
          ))}
        </Text>
      ))}
      {items.length === 0 ? (
        <Text color="green" wrap="truncate-end">
          {cut('Nothing needs attention.', width)}
        </Text>
      ) : (
        <>
          <Text bold wrap="truncate-end">
            {cut(`Attention (${items.length})`, width)}
          </Text>
          {shown.map((a, i) => (
            <Text key={i} color={a.severity === 'error' ? 'red' : 'yellow'} wrap="truncate-end">
              {attentionLine(a, width)}
            </Text>
          ))}
          {items.length > shown.length ? (
            <Text dimColor wrap="truncate-end">
              {cut(`+${items.length - shown.length} more: \`campaign status\` lists them all`, width)}
            </Text>
          ) : null}
        </>
      )}
    </Box>
  );
}

/** How many lines the pane takes, so the App can give the rest to the event stream. */
export function overviewHeight(snapshot: StatusSnapshot | null, width: number, maxAttention: number): number {
  if (!snapshot) return 2;
  const chips = packChips(overviewChips(snapshot), width).length;
  const n = snapshot.attention.length;
  if (n === 0) return 1 + chips + 1;
  const shown = Math.min(n, Math.max(1, maxAttention));
  return 1 + chips + 1 + shown + (n > shown ? 1 : 0);
}
