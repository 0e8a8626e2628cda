/**
 * Converse `outputConfig.textFormat` in the emulator: the answer is a JSON value valid against the request's schema
 * (the smallest one it can build: every property, the first enum or type of a choice, one array item).
 */

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value)

/** The JSON text the emulator answers with, or Bedrock's ValidationException message; undefined without outputConfig. */
export function structuredAnswer(body: Json): { json: string } | { error: string } | undefined {
  const config = body.outputConfig
  if (config === undefined) return undefined
  const format = isObject(config) ? config.textFormat : undefined
  const jsonSchema = isObject(format) && format.type === 'json_schema' && isObject(format.structure) ? format.structure.jsonSchema : undefined
  if (!isObject(jsonSchema) || typeof jsonSchema.schema !== 'string') return { error: 'Malformed outputConfig: textFormat needs type json_schema and structure.jsonSchema.schema (a string).' }
  let schema: unknown
  try {
    schema = JSON.parse(jsonSchema.schema)
  } catch {
    return { error: 'The JSON schema in outputConfig.textFormat is not valid JSON.' }
  }
  if (!isObject(schema)) return { error: 'The JSON schema in outputConfig.textFormat must be an object.' }
  return { json: JSON.stringify(exampleOf(schema, schema, 0)) }
}

function exampleOf(schema: unknown, root: Json, depth: number): unknown {
  if (!isObject(schema) || depth > 16) return null
  if (typeof schema.$ref === 'string') return exampleOf(resolve(root, schema.$ref), root, depth + 1)
  if ('const' in schema) return schema.const
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0]
  const choice = schema.anyOf ?? schema.oneOf
  if (Array.isArray(choice) && choice.length > 0) return exampleOf(choice[0], root, depth + 1)
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'object': {
      const properties = isObject(schema.properties) ? schema.properties : {}
      return Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, exampleOf(value, root, depth + 1)]))
    }
    case 'array':
      return Array.from({ length: Math.max(1, typeof schema.minItems === 'number' ? schema.minItems : 1) }, () => exampleOf(schema.items, root, depth + 1))
    case 'string':
      return 'emulated'
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1
    case 'boolean':
      return true
    default:
      return null
  }
}

function resolve(root: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return null
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (isObject(node) ? node[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), root)
}
