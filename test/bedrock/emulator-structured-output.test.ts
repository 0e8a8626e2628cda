import { describe, expect, it } from 'vitest'
import { structuredAnswer } from '../../src/bedrock/emulator/structured-output'

const request = (schema: unknown, extra: Record<string, unknown> = {}) => ({
  outputConfig: { textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: typeof schema === 'string' ? schema : JSON.stringify(schema), name: 'x', ...extra } } } },
})

describe("the emulator's structured output", () => {
  it('answers the smallest JSON valid against the schema: properties, enums, consts, choices, arrays, refs', () => {
    const schema = {
      type: 'object',
      properties: {
        kind: { enum: ['b', 'a'] },
        fixed: { const: 42 },
        either: { anyOf: [{ type: 'boolean' }, { type: 'string' }] },
        tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
        size: { type: 'integer', minimum: 3 },
        nested: { $ref: '#/$defs/point' },
        nothing: { type: 'null' },
      },
      $defs: { point: { type: 'object', properties: { x: { type: 'number' } } } },
    }
    expect(structuredAnswer(request(schema))).toEqual({
      json: JSON.stringify({ kind: 'b', fixed: 42, either: true, tags: ['emulated', 'emulated'], size: 3, nested: { x: 1 }, nothing: null }),
    })
  })

  it('is absent without outputConfig and a ValidationException message for a malformed one', () => {
    expect(structuredAnswer({ messages: [] })).toBeUndefined()
    expect(structuredAnswer(request('{not json'))).toEqual({ error: expect.stringContaining('not valid JSON') })
    expect(structuredAnswer(request('[1]'))).toEqual({ error: expect.stringContaining('must be an object') })
    expect(structuredAnswer({ outputConfig: { textFormat: { type: 'xml' } } })).toEqual({ error: expect.stringContaining('Malformed outputConfig') })
  })
})
