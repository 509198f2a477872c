import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Trainers are CPU-bound and the machine has 2 cores: run test files one at a time so timings
    // inside a test (waiting for a trainer) stay predictable.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
