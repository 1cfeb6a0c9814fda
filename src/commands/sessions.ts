// `campaign sessions`: WAHA's sessions with their status, next to each session's pacing state
// from the database (why it is or is not sending, and how much it has sent).
import type { Command } from 'commander';
import { requireConfig } from '../core/config.js';
import { createWahaClient, type SessionOverview, sessionOverview } from '../core/waha/index.js';
import type { CliKit } from './kit.js';
import { paint, table } from './render.js';

function when(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

function present(o: SessionOverview): string {
  const rows = o.sessions.map((s) => [
    s.name,
    s.status === null ? paint('yellow', 'not in WAHA') : s.status === 'WORKING' ? paint('green', s.status) : paint('red', s.status),
    s.me ?? '',
    `${s.sendsToday}/${s.dailyLimit}`,
    `${s.sendsLastHour}/${s.hourlyLimit}`,
    `${s.sendsInBlock}/${s.pauseAfterSends}`,
    when(s.nextAllowedAt),
    when(s.blockPauseUntil),
    s.notWorkingReason ?? '',
  ]);
  const head = ['session', 'WAHA status', 'me', 'today', 'last hour', 'block', 'next send at', 'block pause until', 'held because'];
  return `${table(head, rows, { empty: `WAHA at ${o.wahaBaseUrl} has no sessions.` })}\nWAHA: ${o.wahaBaseUrl}. Days counted in ${o.timezone}.`;
}

export function register(program: Command, k: CliKit): void {
  program
    .command('sessions')
    .description('WAHA sessions with their status and pacing state')
    .action(
      k.action(async (run) => {
        const cfg = requireConfig(run.config(), ['wahaBaseUrl'], 'sessions');
        const waha = createWahaClient({ baseUrl: cfg.wahaBaseUrl, apiKey: run.config().wahaApiKey, timeoutMs: 10_000 });
        return sessionOverview(await run.ctx(), waha);
      }, present),
    );
}
