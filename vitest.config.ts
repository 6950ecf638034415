import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests each start their own server on a free port with a fresh data folder.
    pool: 'forks',
    // Vitest's default is one file at a time on a 2-core machine (cores − 1). Most files wait on
    // servers, databases and a browser rather than compute, so two at a time: on such a machine
    // the suite took 23 minutes one at a time and 18 three at a time, all passing; two keeps the
    // timing-sensitive files (latency, hole waits, the browser) further from a starved core.
    maxWorkers: 2,
  },
});
