/**
 * Whether this Worker build carries the built-in Bedrock emulator: replaced at build time (wrangler.toml [define]
 * for deploys: false; `npm run dev:worker` and vitest.workers.config.ts: true).
 */
declare const EDGECHAT_EMULATOR: boolean
