/** Free-form JSON in a request body (metadata, tool inputs) nests at most this deep, counting the body itself. */
export const MAX_JSON_DEPTH = 64

export interface ShapeIssue {
  /** The dotted path of the offending value (for depth, of the top-level field it sits under). */
  path: string
  message: string
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const nativeWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed
const wellFormed: (text: string) => boolean = nativeWellFormed ? (text) => nativeWellFormed.call(text) : (text) => !LONE_SURROGATE.test(text)

interface Frame {
  value: unknown
  depth: number
  parent: Frame | null
  key: string
}

function pathOf(frame: Frame | null): string {
  const keys: string[] = []
  for (let at = frame; at?.parent; at = at.parent) keys.push(at.key)
  return keys.reverse().join('.')
}

const notUtf8 = (frame: Frame | null, what: string): ShapeIssue => ({
  path: pathOf(frame),
  message: `${what} holds a lone surrogate (\\ud800-\\udfff without its pair), which UTF-8 cannot store`,
})

/**
 * The first thing in a parsed JSON value that could not be kept exactly or handled safely: a string or key with a
 * lone surrogate, or containers nested deeper than `maxDepth` (the value itself is depth 1). Walks iteratively and
 * stops at the limit, so hostile nesting costs no stack.
 */
export function jsonShapeIssue(value: unknown, maxDepth = MAX_JSON_DEPTH): ShapeIssue | null {
  const stack: Frame[] = [{ value, depth: 0, parent: null, key: '' }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    const current = frame.value
    if (typeof current === 'string') {
      if (!wellFormed(current)) return notUtf8(frame, 'the text')
      continue
    }
    if (typeof current !== 'object' || current === null) continue
    const depth = frame.depth + 1
    if (depth > maxDepth) {
      let top = frame
      while (top.parent?.parent) top = top.parent
      return { path: pathOf(top), message: `nests deeper than ${maxDepth} levels` }
    }
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], depth, parent: frame, key: String(i) })
      continue
    }
    const keys = Object.keys(current)
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!
      const child: Frame = { value: (current as Record<string, unknown>)[key], depth, parent: frame, key }
      if (!wellFormed(key)) return notUtf8(child, 'the key')
      stack.push(child)
    }
  }
  return null
}

/** Whether `value` nests deeper than `maxDepth` (itself depth 1), found without recursion. */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (typeof current !== 'object' || current === null) continue
    if (depth > maxDepth) return true
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
  return false
}
