import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Store-backed suites share one PostgreSQL database; each suite uses its own schema.
    pool: 'forks',
  },
});
