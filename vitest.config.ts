import { defineConfig } from 'vitest/config';

// One suite over every backend: test/**. The GPU bundle's staging copy and build trees are not tests.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '.gpu-bundle/**', 'dist/**', 'build/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
