// `--since` values: an ISO date or date-time, or a duration back from now (30m, 2h, 3d, 1w).
import { CampaignError } from '../errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseSince(value: string, now: Date): Date {
  const v = value.trim();
  const rel = /^(\d+)\s*([smhdw])$/i.exec(v);
  if (rel) {
    const d = new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2]!.toLowerCase()]!);
    // Far enough back to leave the calendar (and PostgreSQL's timestamp range): say so, not a crash.
    if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1) {
      throw new CampaignError('USAGE', `--since "${value}" reaches back before the year 1: use a shorter duration such as 30d, or an ISO date such as 2026-11-01.`, { value });
    }
    return d;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const d = new Date(v);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new CampaignError('USAGE', `--since "${value}" is not a time: use an ISO date such as 2026-11-01 or 2026-11-01T09:00:00Z, or a duration such as 30m, 2h, 3d.`, {
    value,
  });
}
