import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Deadlines for a loaded 2-core machine (CLI processes, and worker threads that each start
    // tsx): they only bound a hang, since no test waits a fixed time.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Store-backed suites share one PostgreSQL database; each suite uses its own schema.
    pool: 'forks',
    // Two files at a time, not vitest's default of one fewer than the cores (one, here): the
    // end-to-end files spend most of their time waiting on processes they spawned.
    maxWorkers: 2,
  },
});
