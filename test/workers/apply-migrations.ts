// Applies migrations/ (read in vitest.workers.config.ts) to the test D1 database, as
// `wrangler d1 migrations apply` does before a deploy. Idempotent: applied migrations are recorded in d1_migrations.
import { applyD1Migrations } from 'cloudflare:test'
import { env } from 'cloudflare:workers'

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS)
