// Worker heartbeats: who is running where, since when, and what it is doing now.
import { hostname } from 'node:os';
import type { Context } from '../context.js';

export interface HeartbeatInfo {
  name: string;
  pid: number;
  version: string;
  startedAt: Date;
}

export async function beat(ctx: Context, info: HeartbeatInfo, state: string, detail: string | null = null): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db
    .insertInto('worker_heartbeats')
    .values({ name: info.name, host: hostname(), pid: info.pid, version: info.version, started_at: info.startedAt, last_seen_at: now, state, detail })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({ host: hostname(), pid: info.pid, version: info.version, started_at: info.startedAt, last_seen_at: now, state, detail }),
    )
    .execute();
}
