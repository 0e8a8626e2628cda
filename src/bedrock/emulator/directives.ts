/**
 * `[[emulator key=value flag …]]` blocks in a user message steer the emulator's answer. Several
 * blocks, and several settings per block, combine. Values are bare words, or JSON for `input=`.
 */
export interface Directives {
  /** Exactly this many text deltas. */
  tokens?: number
  /** Milliseconds between deltas, and before the first frame. */
  delayMs?: number
  ttftMs?: number
  /** Answer with this pre-stream HTTP error type … */
  error?: string
  /** … only for the first `times` requests with this exact text (then answer normally). */
  times?: number
  /** Mid-stream exception after N text deltas, of type `failWith` (default modelStreamErrorException). */
  failAfter?: number
  failWith?: string
  /** The message of the scripted error or exception (a bare word or a JSON string), e.g. one naming an ARN. */
  errorMessage?: string
  /**
   * The tools to call (`tool=NAME input=JSON`, repeatable: several calls in one answer) when the last message is the
   * user's own text. After tool results the emulator answers with text holding each result, unless `repeat`: then it
   * calls them again for as long as the request declares tools.
   */
  tools?: { name: string; input: unknown }[]
  repeat?: boolean
  reasoning?: boolean
}

export class DirectiveError extends Error {}

const OPEN = '[[emulator'

type Settings = Directives

/** Splits `text` into its directives and the remaining prompt (directives removed, whitespace collapsed). */
export function parseDirectives(text: string): { directives: Directives; prompt: string } {
  const settings: Settings = {}
  let prompt = ''
  let from = 0
  for (let start = text.indexOf(OPEN); start >= 0; start = text.indexOf(OPEN, from)) {
    prompt += text.slice(from, start)
    from = parseBlock(text, start + OPEN.length, settings)
  }
  prompt += text.slice(from)
  return { directives: settings, prompt: prompt.replace(/\s+/g, ' ').trim() }
}

/** Parses settings from `at` up to the closing `]]`; returns the index after it. */
function parseBlock(text: string, at: number, directives: Settings): number {
  for (;;) {
    while (at < text.length && /\s/.test(text[at]!)) at++
    if (text.startsWith(']]', at)) return at + 2
    if (at >= text.length) throw new DirectiveError('unterminated [[emulator …]] directive')
    const keyMatch = /^[a-z][a-z-]*/.exec(text.slice(at, at + 32))
    if (!keyMatch) throw new DirectiveError(`unexpected character in directive: ${text[at]}`)
    const key = keyMatch[0]
    at += key.length
    let value: string | undefined
    if (text[at] === '=') {
      at++
      const end = /[{["]/.test(text[at] ?? '') ? jsonEnd(text, at) : bareEnd(text, at)
      value = text.slice(at, end)
      at = end
    }
    apply(directives, key, value)
  }
}

function apply(directives: Settings, key: string, value: string | undefined): void {
  switch (key) {
    case 'tokens':
      directives.tokens = count(key, value)
      return
    case 'delay':
      directives.delayMs = count(key, value)
      return
    case 'ttft':
      directives.ttftMs = count(key, value)
      return
    case 'times':
      directives.times = count(key, value)
      return
    case 'fail-after':
      directives.failAfter = count(key, value)
      return
    case 'error':
      directives.error = word(key, value)
      return
    case 'fail-with':
      directives.failWith = word(key, value)
      return
    case 'error-message': {
      const text = word(key, value)
      try {
        directives.errorMessage = text.startsWith('"') ? (JSON.parse(text) as string) : text
      } catch {
        throw new DirectiveError(`error-message= must be a word or a JSON string: ${text}`)
      }
      return
    }
    case 'tool':
      directives.tools = [...(directives.tools ?? []), { name: word(key, value), input: {} }]
      return
    case 'input': {
      const tool = directives.tools?.at(-1)
      if (!tool) throw new DirectiveError('input= needs tool=NAME')
      try {
        tool.input = JSON.parse(word(key, value))
      } catch {
        throw new DirectiveError(`input= must be JSON: ${value}`)
      }
      return
    }
    case 'reasoning':
    case 'repeat':
      if (value !== undefined) throw new DirectiveError(`${key} takes no value`)
      directives[key] = true
      return
    default:
      throw new DirectiveError(`unknown emulator directive: ${key}`)
  }
}

function word(key: string, value: string | undefined): string {
  if (!value) throw new DirectiveError(`${key}= needs a value`)
  return value
}

function count(key: string, value: string | undefined): number {
  const n = Number(word(key, value))
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000) throw new DirectiveError(`${key}= must be a non-negative integer`)
  return n
}

function bareEnd(text: string, at: number): number {
  let end = at
  while (end < text.length && !/\s/.test(text[end]!) && !text.startsWith(']]', end)) end++
  return end
}

/** End of the JSON value starting at `at`: balanced brackets, strings skipped. */
function jsonEnd(text: string, at: number): number {
  let depth = 0
  for (let i = at; i < text.length; i++) {
    const char = text[i]
    if (char === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++
      if (depth === 0) return i + 1
    } else if (char === '{' || char === '[') depth++
    else if (char === '}' || char === ']') {
      depth--
      if (depth === 0) return i + 1
    }
  }
  throw new DirectiveError('unterminated JSON value in directive')
}
