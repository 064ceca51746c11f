import { defineConfig } from 'vitest/config';

// The end-to-end suite: one real VS Code, so one file, run serially, with room for installs.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    testTimeout: 180_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
