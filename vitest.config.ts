import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/workers/**', 'node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      // test/workers/** inside workerd, with a real D1 binding: see vitest.workers.config.ts
      './vitest.workers.config.ts',
    ],
  },
})
