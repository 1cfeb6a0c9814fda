import { defineConfig } from 'vitest/config';

// Integration tests share one PostgreSQL: TEST_DATABASE_URL when set (CI's second pass runs on
// the machine's PostgreSQL 15), otherwise an embedded server started once by the global setup.
// Each test file clones a migrated template database, so files never see each other's rows.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
