// The audience filter rule (src/core/audience/filter-key.ts) lives once in TypeScript; the SQL
// twin the queue build and the contacts list compare brands with (campaign_filter_key, migration
// 0009) is generated from it. This file checks the frozen migration text against the generator
// and the SQL against filterKey() on awkward input, on whichever server the suite runs.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILTER_KEY_SPACE_CLASS, filterKey, filterKeySql } from '../../src/core/audience/filter-key.js';
import { FILTER_KEY_FUNCTION_SQL } from '../../migrations/0009_media_refs_and_filter_keys.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.drop());

describe('filter keys: one rule in TypeScript and SQL', () => {
  it('the newest migration installs what filterKeySql() generates (a changed rule needs a new migration exporting FILTER_KEY_FUNCTION_SQL)', () => {
    expect(FILTER_KEY_FUNCTION_SQL).toBe(filterKeySql());
  });

  it("the whitespace class is exactly JavaScript's \\s (what trim() strips)", () => {
    const cls = new RegExp(`^[${FILTER_KEY_SPACE_CLASS}]$`, 'u');
    for (let cp = 0; cp <= 0xffff; cp++) {
      const ch = String.fromCharCode(cp);
      if (cls.test(ch) !== /^\s$/u.test(ch)) throw new Error(`U+${cp.toString(16)} differs`);
    }
  });

  it('campaign_filter_key() equals filterKey() on awkward spellings', async () => {
    const inputs = [
      'Vaseline ', 'VASELINE', '  vaseline', 'Vase line', 'Vase   line', '\u00a0Vaseline\u3000', 'Vase\tline\n', 'ＶＡＳＥＬＩＮＥ', 'ｖａｓｅ　ｌｉｎｅ',
      'Kinshasa ', 'KINSHASA', 'Lubumbashi  Nord', 'ÉCOLE', 'École', 'e\u0301cole', 'ΟΔΟΣ', 'İstanbul', 'Straße', 'ǅemal', 'ﬁne', '①②', 'Ⅻ', '\ufeffbom',
      '\u2028line\u2029', '\u1680ogham', '\u202fnarrow\u205f', '\u0085nel', '', ' ', 'ŞİŞLİ', 'ÀÉÎÕÜ Ç', 'Mbuji-Mayi', 'N\'Djili',
    ];
    const r = await sql<{ i: number; k: string }>`select i::int, campaign_filter_key(v) as k from unnest(${inputs}::text[]) with ordinality as u(v, i)`.execute(t.db);
    expect(r.rows.map((x) => x.k)).toEqual(inputs.map(filterKey));
    const keys = await sql<{ k: string[] }>`select campaign_filter_keys(${['Vaseline ', 'LIFEBUOY']}::text[]) as k`.execute(t.db);
    expect(keys.rows[0]!.k).toEqual(['vaseline', 'lifebuoy']);
  });
});
