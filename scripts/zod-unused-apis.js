// The Worker bundle's stand-in for two zod modules EdgeChat never calls, swapped in by wrangler.toml's [alias]
// ("./compile.js" from zod/v4/core/index.js, "./from-json-schema.js" from zod/v4/classic/external.js).
// @hono/zod-openapi keeps the whole `z` namespace alive, so z.compile (~31 KB minified) and z.fromJSONSchema
// (~12 KB) would otherwise be bundled. The names stay exported; calling one throws instead of running.
const absent = (name) => () => {
  throw new Error(`zod's ${name} is not part of the EdgeChat Worker bundle (scripts/zod-unused-apis.js)`)
}
export const INVALID = Symbol.for('zod.compile.invalid')
export class ZodCompileAsyncError extends Error {}
export class ZodCompileUnsupportedError extends Error {}
export const compile = absent('z.compile')
export const compileFn = absent('z.compile')
export const withParser = absent('z.withParser')
export const fromJSONSchema = absent('z.fromJSONSchema')
