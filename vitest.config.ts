import { defineConfig } from 'vitest/config';

export default defineConfig({
  // tfjs-core's ESM gradient files (src/trainer/tf/gradients.ts), which vitest transforms: reached
  // through package.json "imports" it would leave them to Node's loader, which cannot load them.
  resolve: { alias: { '#tfjs-gradients': '@tensorflow/tfjs-core/dist/register_all_gradients.js' } },
  test: {
    include: ['tests/**/*.test.ts'],
    // Trainers are CPU-bound and the machine has 2 cores: run test files one at a time so timings
    // inside a test (waiting for a trainer) stay predictable.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
