/// <reference types="@cloudflare/vitest-pool-workers/types" />
// Types for the tests that run inside workerd (vitest.workers.config.ts): the `cloudflare:test` module, the
// bindings the test Worker receives, and the main module behind `exports` from `cloudflare:workers`.

declare namespace Cloudflare {
  interface Env {
    DB: D1Database
    FILES: R2Bucket
    NODE_ENV: string
    JWT_SECRET: string
    LOG_LEVEL: string
    METRICS_TOKEN: string
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[]
  }
  interface GlobalProps {
    mainModule: typeof import('../../src/entries/worker')
  }
}
