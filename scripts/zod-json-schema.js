// The Worker bundle's stand-in for zod's JSON Schema generator, swapped in by wrangler.toml's [alias] for the specifiers
// zod's own modules import it by ("../core/json-schema-processors.js", "./json-schema-processors.js",
// "../core/to-json-schema.js", "./to-json-schema.js", "./json-schema-generator.js"). EdgeChat never asks zod for JSON
// Schema: the OpenAPI document and the built-in tools' input schemas come from @hono/zod-openapi's generator
// (src/tools/tool.ts), so z.toJSONSchema and its processors (~23 KB minified) would be dead weight. Every name zod
// imports stays exported; generating JSON Schema throws instead of running.
//
// aggregateChecks is the one function zod also needs outside JSON Schema (a string's minLength and format, a number's
// minValue, which the OpenAPI generator reads): it is the real one, taken from zod's module by its path, so only it is
// bundled from there.
export { aggregateChecks } from '../node_modules/zod/v4/core/json-schema-processors.js'

const absent = () => {
  throw new Error("zod's JSON Schema generation is not part of the EdgeChat Worker bundle (scripts/zod-json-schema.js)")
}

// to-json-schema.js
export const createToJSONSchemaMethod = () => absent
export const createStandardJSONSchemaMethod = () => absent
export { absent as initializeContext, absent as processSchema, absent as process, absent as extractDefs, absent as finalize, absent as handleUnrepresentable }

// json-schema-processors.js (what zod's classic schemas read from it) and json-schema-generator.js
export const allProcessors = {}
export class JSONSchemaGenerator {
  constructor() {
    absent()
  }
}
export {
  absent as toJSONSchema,
  absent as anyProcessor,
  absent as arrayProcessor,
  absent as bigintProcessor,
  absent as booleanProcessor,
  absent as catchProcessor,
  absent as customProcessor,
  absent as dateProcessor,
  absent as defaultProcessor,
  absent as enumProcessor,
  absent as fileProcessor,
  absent as functionProcessor,
  absent as intersectionProcessor,
  absent as lazyProcessor,
  absent as literalProcessor,
  absent as mapProcessor,
  absent as nanProcessor,
  absent as neverProcessor,
  absent as nonoptionalProcessor,
  absent as nullProcessor,
  absent as nullableProcessor,
  absent as numberProcessor,
  absent as objectProcessor,
  absent as optionalProcessor,
  absent as pipeProcessor,
  absent as prefaultProcessor,
  absent as promiseProcessor,
  absent as readonlyProcessor,
  absent as recordProcessor,
  absent as setProcessor,
  absent as stringProcessor,
  absent as successProcessor,
  absent as symbolProcessor,
  absent as templateLiteralProcessor,
  absent as transformProcessor,
  absent as tupleProcessor,
  absent as undefinedProcessor,
  absent as unionProcessor,
  absent as unknownProcessor,
  absent as voidProcessor,
}
