/**
 * The `workers` test project: test/workers/** runs inside workerd (@cloudflare/vitest-pool-workers) against the
 * real Worker entry (src/entries/worker.ts, wired from wrangler.toml) and a local D1 database with the
 * drizzle-kit migrations applied (test/workers/apply-migrations.ts).
 *
 * Run alone with `npx vitest run --project workers`; `npm test` runs it with the other projects.
 */
import { fileURLToPath } from 'node:url'
import { defineProject } from 'vitest/config'

// Keep wrangler's config and debug logs out of $HOME, and keep it from phoning home. Wrangler fixes its config
// directory when it is first imported, so the pool is imported (dynamically) only after these are set.
process.env.XDG_CONFIG_HOME ??= fileURLToPath(new URL('./.tmp/xdg', import.meta.url))
process.env.WRANGLER_SEND_METRICS ??= 'false'
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'

export default defineProject(async () => {
  const { cloudflareTest, readD1Migrations } = await import('@cloudflare/vitest-pool-workers')
  const migrations = await readD1Migrations(fileURLToPath(new URL('./migrations', import.meta.url)))
  return {
    // The Worker under test carries the Bedrock emulator and the Turso client (deploys leave both out: wrangler.toml
    // [define]); the deploy build itself is run by test/runtime/worker-bundle.test.ts.
    define: { EDGECHAT_EMULATOR: 'true', EDGECHAT_TURSO: 'true' },
    plugins: [
      cloudflareTest({
        main: './src/entries/worker.ts',
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          // NODE_ENV stays "production" (wrangler.toml [vars]); JWT_SECRET plays the role of the deployed secret.
          bindings: {
            JWT_SECRET: 'workers-test-secret-0123456789-abcdefghijklmnop',
            LOG_LEVEL: 'error',
            // Production serves /metrics and the details of /ready only to this bearer token.
            METRICS_TOKEN: 'workers-metrics-token-0123456789',
            // No AWS secrets here: production answers from the emulator only when told to.
            BEDROCK_EMULATOR: 'on',
            // wrangler.toml binds GENERATIONS, which makes the Durable Object hub the default. The tests written for the
            // isolate's memory hub keep it; test/workers/durable-object-*.test.ts use an env without this variable.
            STREAM_STATE: 'memory',
            // test/workers/mcp-servers.test.ts reaches MCP servers on loopback.
            MCP_ALLOW_PRIVATE_URLS: 'true',
            // Generated titles add a background model call after a first turn; test/workers/tree-search.test.ts turns them on.
            GENERATE_TITLES: 'false',
            TEST_MIGRATIONS: migrations,
          },
        },
      }),
    ],
    test: {
      name: 'workers',
      include: ['test/workers/**/*.test.ts'],
      setupFiles: ['./test/workers/apply-migrations.ts'],
      // Real MCP servers (official SDKs) in Node, reached by the Worker over loopback: test/workers/mcp-servers.test.ts.
      globalSetup: ['./test/workers/mcp-global-setup.ts'],
      // One module graph for all files (~8 s faster here). The files share D1 and the worker module's per-isolate
      // state, as requests in one isolate do; tests use unique emails and restore their spies.
      isolate: false,
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  }
})
