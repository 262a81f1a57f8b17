// The browser suite (npm run test:browser): the real Piano Analytics SDK in Debian's
// Chromium against the collector. Separate from `npm test` so that the unit and
// integration suite needs no browser; shares its global setup (private redis-server).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Node's own requests stand for a person's browser too (the pages get VISITOR_CONTEXT)
    setupFiles: ['test/helpers/browser-user-agent.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // name every case in the output, however fast it ran
    reporters: ['verbose'],
    // one browser at a time on a shared 2-core machine
    fileParallelism: false,
  },
});
