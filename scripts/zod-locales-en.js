// The Worker bundle's stand-in for zod's locales index (node_modules/zod/v4/locales/index.js), swapped in by the
// "../locales/index.js" entry of wrangler.toml's [alias]. @hono/zod-openapi keeps the whole `z` namespace alive,
// so `z.locales` (all ~50 languages, ~41 KiB gzip) would otherwise be bundled although only English is used.
// English stays the default (zod registers en itself) and `z.locales.en` / `z.core.locales.en` still work.
export { default as en } from 'zod/v4/locales/en.js'
