// Counts by state and the rates a campaign owner asks about, from the same snapshot as the rows.
import { RECIPIENT_STATES, type RecipientState } from '../db/schema.js';

export interface ReportSummary {
  total: number;
  byStatus: Record<RecipientState, number>;
  /** Accepted by WAHA: SENT_API_ACCEPTED, DELIVERED or READ (acks only move forward). */
  sent: number;
  /** Reached the phone: DELIVERED or READ. */
  delivered: number;
  read: number;
  /** FAILED: refused by WAHA, or accepted and then reported undeliverable (ack ERROR, -1). */
  failed: number;
  /** Fractions from 0 to 1, rounded to 4 places; null when the denominator is 0. */
  rates: { deliveredOfSent: number | null; readOfSent: number | null; failedOfTotal: number | null };
}

export function summarizeCounts(counts: Partial<Record<string, number>>): ReportSummary {
  const byStatus = Object.fromEntries(RECIPIENT_STATES.map((s) => [s, Number(counts[s] ?? 0)])) as Record<RecipientState, number>;
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
  const read = byStatus.READ;
  const delivered = byStatus.DELIVERED + read;
  const sent = byStatus.SENT_API_ACCEPTED + delivered;
  const failed = byStatus.FAILED;
  const rate = (n: number, d: number) => (d === 0 ? null : Math.round((n / d) * 10_000) / 10_000);
  return {
    total,
    byStatus,
    sent,
    delivered,
    read,
    failed,
    rates: { deliveredOfSent: rate(delivered, sent), readOfSent: rate(read, sent), failedOfTotal: rate(failed, total) },
  };
}
