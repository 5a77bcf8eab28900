import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // A child process that outlives its test must not hold the run open.
    teardownTimeout: 30_000,
    pool: 'forks',
  },
});
