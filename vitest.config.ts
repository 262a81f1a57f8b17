import { defineConfig } from 'vitest/config';

// Two groups: the unit and integration suite (files in parallel), then the fault
// tests (test/faults: real processes, load, fuzz) one file at a time, so that their
// latency and RSS figures are not skewed by the rest of the suite running beside them.
const common = {
  globalSetup: ['test/helpers/global-setup.ts'],
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...common,
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**', 'test/faults/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...common,
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
