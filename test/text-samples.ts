/**
 * Text that must be stored and read back byte for byte (API.md, "Text is kept exactly"): NUL, bidi controls, ZWJ
 * emoji, combining marks (not to be NFC-normalized), BOM and line/paragraph separators, with nothing trimmed at the
 * edges. Shared by the Node and workerd tests.
 */
export const EXACT = ' \uFEFF\u0000\u2028ab\u0000cd \u202Eevil\u202C \u2066iso\u2069 \u{1F469}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466} e\u0301 Z\u0351\u036B \u2029 \u0000\uFEFF\u2028 '

/** Another such text, for renames (so a rename that silently kept the old value would show). */
export const EXACT_2 = ' \u0000renamed\u0000 \u200F\u05D0\u200E \u{1F3F3}\uFE0F\u200D\u{1F308}\u2028'

/** A string that UTF-8 cannot hold: JSON.stringify writes it as an escape, which JSON.parse turns back into it. */
export const LONE_SURROGATE = 'ab\uD800cd'

/** JSON text of arrays nested `depth` deep (10 KB at depth 5,000), built without JSON.stringify's recursion. */
export const nestedJson = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

interface Operation {
  requestBody?: { content?: Record<string, unknown> }
  responses?: Record<string, { content?: Record<string, unknown> }>
}

/**
 * Every operation of an OpenAPI document that takes a JSON body and answers a bad one with a problem (not the
 * OpenAI-compatible routes, which answer in OpenAI's error shape), path parameters filled in.
 */
export function jsonBodyOperations(doc: { paths: Record<string, Record<string, Operation>> }) {
  const operations: { method: string; path: string }[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!operation.requestBody?.content?.['application/json']) continue
      if (!operation.responses?.['400']?.content?.['application/problem+json']) continue
      operations.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x_0123') })
    }
  }
  return operations
}

/** The bodies that are no JSON object: each must be 400 validation_failed with `errors`. */
export const NOT_AN_OBJECT = ['', '   ', '{', '{"a": }', 'not json', 'null', '[]', '[{"name": "x"}]', '"text"', '42']
