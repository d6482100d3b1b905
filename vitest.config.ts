import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default is one file at a time on 2 cores (cores - 1); most files wait on servers
    // (the emulator, Koop, Redis, PostgreSQL, child processes) more than they compute, and two at
    // once take the suite from about 7.5 to 4.5 minutes there
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
