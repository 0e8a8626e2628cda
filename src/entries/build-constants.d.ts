/**
 * Whether this Worker build carries the built-in Bedrock emulator: replaced at build time (wrangler.toml [define]
 * for deploys: false; `npm run dev:worker` and vitest.workers.config.ts: true).
 */
declare const EDGECHAT_EMULATOR: boolean

/**
 * Whether this Worker build carries the libsql client for Turso over HTTP: replaced at build time (wrangler.toml
 * [define]: false, a D1 deploy; set it to true to reach Turso from a Worker). vitest.workers.config.ts: true.
 */
declare const EDGECHAT_TURSO: boolean
