import { defineConfig } from 'vitest/config';

// Two projects: `unit` (files named *.unit.test.ts: pure code, no server, database file or browser; `npm run
// test:unit`, well under a minute) and `integration` (everything else). `vitest run` runs both.
const shared = { testTimeout: 60_000, hookTimeout: 60_000, pool: 'forks' as const };

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/**/*.unit.test.ts'] } },
      {
        test: {
          ...shared,
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.unit.test.ts', '**/node_modules/**'],
        },
      },
    ],
  },
});
