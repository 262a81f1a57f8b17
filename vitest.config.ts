import { defineConfig } from 'vitest/config';

// Two groups: the unit and integration suite (files in parallel), then the fault
// tests (test/faults: the collector as a process under 1000-2000 hits/s while Redis is
// killed, frozen or out of memory, SIGTERM under load) one file at a time, so that two
// load generators never share the machine. They assert no timing (bench/faults.ts
// prints the figures), but a 2-core machine running two loads at once would only make
// them slower, not better tests.
const common = {
  globalSetup: ['test/helpers/global-setup.ts'],
  // FC_SEED / FC_PATH replay a property test's failure (test/helpers/fast-check-setup.ts); hits
  // stand for a person's browser unless a test says otherwise (a robot's are set apart)
  setupFiles: ['test/helpers/fast-check-setup.ts', 'test/helpers/browser-user-agent.ts'],
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
          // Vitest's default is one worker fewer than the cores: on the 2-core machines
          // here, one file at a time. Many files mostly wait (processes starting, a
          // Redis Cluster failing over, haproxy noticing a dead replica) while the fuzz
          // and the property tests keep a core busy: three at a time fill both cores.
          maxWorkers: 3,
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
