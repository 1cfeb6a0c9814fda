// The ack rules have one owner (issue 9, finding 16): the transition table in
// src/core/webhooks/ack-transitions.ts. Both paths that apply acks (the TypeScript path, advanceByAck,
// and the webhook's SQL fast path, campaign_ingest_ack) must do exactly what the table says, for
// every (state, ack) pair, on queue rows and test-run rows alike, on real Postgres. And the SQL
// function a database has must be the one the table generates: migrations hold a frozen copy (a
// migration never changes once released), so a table change without a new migration fails here.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { FakeClock } from '../../src/core/clock.js';
import { RECIPIENT_STATES, type RecipientState } from '../../src/core/db/schema.js';
import { ACK_TRANSITIONS, ackOutcome, ingestAckFunctionSql, nextStateForAck } from '../../src/core/webhooks/ack-transitions.js';
import { advanceByAck, lockRawId } from '../../src/core/worker/apply-acks.js';
import { RECIPIENT_TABLE, type RecipientKind } from '../../src/core/worker/recipient-tables.js';
import { drcContact, startedCampaign } from '../helpers/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const clock = new FakeClock('2026-03-02T12:00:00Z');
const T0 = new Date('2026-03-02T11:00:00Z');
const T1 = new Date('2026-03-02T12:00:00Z');
/** Every WAHA ack value (contract §7.7), an unknown higher one, and a missing one. */
const ACKS: Array<number | null> = [-1, 0, 1, 2, 3, 4, 5, null];
const REASON = 'WhatsApp reported a delivery error (ack ERROR, GOWS): receipt server-error';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ clock });
});
afterAll(async () => {
  await t?.drop();
});

describe('the SQL function is the one the transition table generates (migrations stay immutable)', () => {
  it('the newest migration that installs campaign_ingest_ack carries exactly the generated text', () => {
    const installers = Object.entries(migrations).filter(([, m]) => typeof (m as unknown as { INGEST_ACK_FUNCTION_SQL?: unknown }).INGEST_ACK_FUNCTION_SQL === 'string');
    expect(installers.length).toBeGreaterThan(0);
    const [name, newest] = installers.at(-1)!;
    const frozen = String((newest as unknown as { INGEST_ACK_FUNCTION_SQL: string }).INGEST_ACK_FUNCTION_SQL).trim();
    const generated = ingestAckFunctionSql().trim();
    // When this fails: the ack table (or the function around it) changed. Do not edit ${name}:
    // add a migration (the next number) that exports INGEST_ACK_FUNCTION_SQL with the output of
    //   node --import tsx -e "import('./src/core/webhooks/ack-transitions.ts').then(m => console.log(m.ingestAckFunctionSql()))"
    // and runs it in up(), as migrations/0005_generated_ack_function.ts does.
    expect(generated, `the ack transition table changed after ${name} froze it: add a new migration with the generated text (see the comment above)`).toBe(frozen);
  });

  it('the migrated database runs that text (the body Postgres holds is the generated body)', async () => {
    const r = await sql<{ prosrc: string; args: string }>`
      select prosrc, pg_get_function_identity_arguments(oid) as args from pg_proc where proname = 'campaign_ingest_ack'`.execute(t.db);
    expect(r.rows).toHaveLength(1); // the older signature was dropped
    const body = /\$fn\$([\s\S]*)\$fn\$/.exec(ingestAckFunctionSql())![1];
    expect(r.rows[0]!.prosrc).toBe(body);
  });
});

describe('the transition table (pure)', () => {
  it('forward only: no move goes to an earlier state, and ERROR never undoes a delivery', () => {
    const rank: Partial<Record<RecipientState, number>> = { SENT_API_ACCEPTED: 0, UNKNOWN: 0, FAILED: 1, DELIVERED: 2, READ: 3 };
    for (const from of RECIPIENT_STATES) {
      for (const ack of ACKS) {
        const to = nextStateForAck(from, ack);
        if (to === null) continue;
        expect(rank[from], `${from} moves on an ack`).toBeDefined();
        expect(rank[to]!, `${from} + ack ${ack} → ${to}`).toBeGreaterThan(rank[from]!);
      }
    }
    expect(nextStateForAck('SENT_API_ACCEPTED', -1)).toBe('FAILED');
    expect(nextStateForAck('UNKNOWN', -1)).toBe('FAILED');
    expect(nextStateForAck('DELIVERED', -1)).toBeNull();
    expect(nextStateForAck('READ', -1)).toBeNull();
    expect(nextStateForAck('READ', 2)).toBeNull();
    expect(nextStateForAck('FAILED', 3)).toBe('READ');
    for (const s of ['PENDING', 'PAUSED', 'SENDING', 'SKIPPED'] as const) expect(Object.keys(ACK_TRANSITIONS[s])).toEqual([]);
  });

  it('the order acks arrive in does not change where a row ends (applyKnownAcks relies on it)', () => {
    const permutations = <T>(xs: T[]): T[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));
    const outcomes = [-1, 2, 3];
    for (const from of RECIPIENT_STATES) {
      for (const set of [[-1, 2], [-1, 3], [2, 3], outcomes]) {
        const ends = new Set(permutations(set).map((order) => order.reduce<RecipientState>((s, a) => nextStateForAck(s, a) ?? s, from)));
        expect([...ends], `${from} with acks ${set.join(',')}`).toHaveLength(1);
      }
    }
    expect(ackOutcome(4)).toBe('READ');
    expect(ackOutcome(1)).toBeNull();
    expect(ackOutcome(null)).toBeNull();
  });
});

interface Case {
  kind: RecipientKind;
  state: RecipientState;
  ack: number | null;
  ts: number;
  sqlId: number;
  raw: { ts: string; sql: string };
}

/** The stamps a row in `state` would already carry. */
function stampsFor(state: RecipientState) {
  const sent = ['SENT_API_ACCEPTED', 'DELIVERED', 'READ', 'FAILED', 'UNKNOWN'].includes(state);
  return {
    status: state,
    sent_at: sent && state !== 'UNKNOWN' ? T0 : null,
    claimed_at: T0,
    delivered_at: state === 'DELIVERED' || state === 'READ' ? T0 : null,
    read_at: state === 'READ' ? T0 : null,
    failed_at: state === 'FAILED' ? T0 : null,
    last_error: state === 'FAILED' || state === 'UNKNOWN' ? 'earlier error' : null,
    updated_at: T0,
  };
}

describe('every (state, ack) pair: the TypeScript path and the SQL fast path agree with the table', () => {
  const cases: Case[] = [];
  let campaignId = 0;
  let testRunId = 0;

  beforeAll(async () => {
    const brand = 'acks';
    const n = RECIPIENT_STATES.length * ACKS.length * 2;
    const contacts = Array.from({ length: n }, (_, i) => drcContact(20_000_000 + i, { name: `A${i}`, first_name: `A${i}`, brand }));
    const inserted = await t.db.insertInto('contacts').values(contacts).returning(['id', 'chat_id']).execute();
    const c = await startedCampaign(t.ctx(), { name: 'ack pairs', brand, session: 'default' });
    campaignId = c.id;
    const run = await t.db
      .insertInto('campaign_test_runs')
      .values({ campaign_id: campaignId, test_list_name: 'qa', waha_session: 'default', status: 'RUNNING', template_json: JSON.stringify({}), content_hash: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    testRunId = run.id;
    const queue = await t.db.selectFrom('send_queue').select(['id']).where('campaign_id', '=', campaignId).orderBy('id').execute();
    expect(queue).toHaveLength(n);
    let q = 0;
    let k = 0;
    for (const kind of ['campaign', 'test'] as const) {
      for (const state of RECIPIENT_STATES) {
        for (const ack of ACKS) {
          const ids: number[] = [];
          const raws: string[] = [];
          for (let path = 0; path < 2; path++) {
            const raw = `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;
            raws.push(raw);
            if (kind === 'campaign') {
              const id = queue[q++]!.id;
              await t.db.updateTable('send_queue').set({ ...stampsFor(state), waha_raw_id: raw }).where('id', '=', id).execute();
              ids.push(id);
            } else {
              const chat = inserted[k++]!.chat_id!;
              const row = await t.db
                .insertInto('campaign_test_run_recipients')
                .values({ test_run_id: testRunId, name: 'T', chat_id: chat, message_type: 'text', endpoint: '/api/sendText', rendered_payload: JSON.stringify({ text: 'x' }), ...stampsFor(state), waha_raw_id: raw })
                .returning('id')
                .executeTakeFirstOrThrow();
              ids.push(row.id);
            }
          }
          cases.push({ kind, state, ack, ts: ids[0]!, sqlId: ids[1]!, raw: { ts: raws[0]!, sql: raws[1]! } });
        }
      }
    }
  });

  it('promise (forward-only acks): each pair ends in the same row through both paths, as the table says', async () => {
    for (const c of cases) {
      await t.db.transaction().execute(async (trx) => {
        await lockRawId(trx, c.raw.ts);
        await advanceByAck(trx, c.kind, c.ts, c.ack, T1, c.ack === -1 ? REASON : null);
      });
      const chat = '243810000001@c.us';
      await sql`select * from campaign_ingest_ack(${`evt_${randomBytes(8).toString('hex')}`}, 'message.ack', 'default', ${T1}, '{}', ${c.raw.sql}, ${chat}, true, ${c.ack}, ${c.ack === -1 ? REASON : null})`.execute(t.db);
    }
    const table = (kind: RecipientKind) => RECIPIENT_TABLE[kind];
    const read = async (kind: RecipientKind, id: number) =>
      (await sql<Record<string, unknown>>`select status, sent_at, delivered_at, read_at, failed_at, last_error, updated_at from ${sql.table(table(kind))} where id = ${id}`.execute(t.db)).rows[0]!;
    const mismatches: string[] = [];
    for (const c of cases) {
      const viaTs = await read(c.kind, c.ts);
      const viaSql = await read(c.kind, c.sqlId);
      const label = `${c.kind} ${c.state} + ack ${c.ack}`;
      expect(viaSql, `${label}: SQL fast path vs TypeScript path`).toEqual(viaTs);
      const to = nextStateForAck(c.state, c.ack);
      const before = stampsFor(c.state);
      if (viaTs.status !== (to ?? c.state)) mismatches.push(`${label}: ${viaTs.status}, table says ${to ?? c.state}`);
      if (to === null) {
        expect(viaTs, `${label}: nothing changes`).toMatchObject({ status: c.state, updated_at: T0, last_error: before.last_error });
        continue;
      }
      expect(viaTs.updated_at, label).toEqual(T1);
      expect(viaTs.sent_at, label).toEqual(before.sent_at ?? T1);
      if (to === 'FAILED') expect(viaTs, label).toMatchObject({ failed_at: before.failed_at ?? T1, last_error: REASON, delivered_at: null, read_at: null });
      if (to === 'DELIVERED' || to === 'READ') expect(viaTs, label).toMatchObject({ delivered_at: before.delivered_at ?? T1, failed_at: null });
      if (to === 'READ') expect(viaTs.read_at, label).toEqual(before.read_at ?? T1);
    }
    expect(mismatches).toEqual([]);
    // The pairs the issue names, spelled out.
    const end = (kind: RecipientKind, state: RecipientState, ack: number) => cases.find((c) => c.kind === kind && c.state === state && c.ack === ack)!;
    for (const kind of ['campaign', 'test'] as const) {
      expect((await read(kind, end(kind, 'SENT_API_ACCEPTED', -1).sqlId)).status).toBe('FAILED');
      expect((await read(kind, end(kind, 'DELIVERED', -1).sqlId)).status).toBe('DELIVERED');
      expect((await read(kind, end(kind, 'READ', 2).sqlId)).status).toBe('READ');
    }
  });
});
