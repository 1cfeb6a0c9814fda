// Pure text helpers for the TUI: fixed-width cells, ASCII progress bars, times in the
// campaign's zone, the event filter. No React here, so each is trivially testable.
import type { WorkerEventRow } from '../core/worker/list-worker-events.js';

/** Cuts to `width` characters with an ellipsis (`...` keeps it ASCII for any terminal). */
export function cut(text: string, width: number): string {
  if (width <= 0) return '';
  const flat = text.replace(/[\r\n\t]+/g, ' ');
  if (flat.length <= width) return flat;
  if (width <= 3) return flat.slice(0, width);
  return `${flat.slice(0, width - 3)}...`;
}

/** Exactly `width` characters: cut, then padded (right-aligned when `right`). */
export function cell(text: string, width: number, right = false): string {
  const c = cut(text, width);
  return right ? c.padStart(width) : c.padEnd(width);
}

/** `[####------]`: `width` counts the brackets too; a share over 1 fills the bar. */
export function bar(done: number, total: number, width: number): string {
  const inner = Math.max(1, width - 2);
  const share = total <= 0 ? 0 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(share * inner);
  return `[${'#'.repeat(filled)}${'-'.repeat(inner - filled)}]`;
}

export function percent(share: number): string {
  return `${Math.round(Math.min(1, Math.max(0, share)) * 100)}%`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string, withDate: boolean): Intl.DateTimeFormat {
  const key = `${timezone}|${withDate}`;
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-GB', {
        timeZone: timezone,
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
        ...(withDate ? { month: 'short', day: '2-digit' } : {}),
      });
    } catch {
      f = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    }
    formatters.set(key, f);
  }
  return f;
}

/** `14:05:09` in the zone, with the date when it is not the same local day as `now`. */
export function clock(iso: string | null | undefined, timezone: string, now?: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  const sameDay = now ? formatter(timezone, true).format(d).slice(0, 6) === formatter(timezone, true).format(new Date(now)).slice(0, 6) : true;
  return formatter(timezone, !sameDay).format(d).replace(',', '');
}

/** `3m ago`, `in 12s`: how far `iso` is from `now`. */
export function relative(iso: string | null | undefined, now: string): string {
  if (!iso) return '';
  const d = Math.round((new Date(iso).getTime() - new Date(now).getTime()) / 1000);
  const a = Math.abs(d);
  const span = a < 90 ? `${a}s` : a < 5400 ? `${Math.round(a / 60)}m` : a < 172_800 ? `${Math.round(a / 3600)}h` : `${Math.round(a / 86_400)}d`;
  if (a <= 1) return 'now';
  return d > 0 ? `in ${span}` : `${span} ago`;
}

/** The text an event filter is matched against: what the line shows, and the ids in `c12` / `t3` form. */
export function eventText(e: WorkerEventRow): string {
  return [
    e.event,
    e.session ?? '',
    e.worker ?? '',
    e.campaignId !== null ? `c${e.campaignId} campaign ${e.campaignId}` : '',
    e.testRunId !== null ? `t${e.testRunId} test ${e.testRunId}` : '',
    e.status ?? '',
    e.reason ?? '',
  ].join(' ');
}

/** Case-insensitive; every space-separated word must appear somewhere in the event. */
export function filterEvents(events: WorkerEventRow[], filter: string): WorkerEventRow[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return events;
  return events.filter((e) => {
    const text = eventText(e).toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/** `── Title ─────` across the width, ASCII. */
export function rule(title: string, width: number): string {
  const head = `-- ${title} `;
  return cut(head, width).padEnd(width, '-');
}
