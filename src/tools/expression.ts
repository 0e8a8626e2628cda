/**
 * Arithmetic expressions, parsed and evaluated here (no eval, no Function): numbers (`1.5`, `2e3`), `+ - * / % ^`
 * (also `×`, `÷`, `**`), parentheses, unary signs, the constants `pi` and `e`, and functions such as `sqrt(x)`,
 * `min(a, b, …)`. `^` binds tighter than a unary minus and groups to the right, as in mathematics: -2^2 = -4.
 */
export class ExpressionError extends Error {}

const FUNCTIONS: Readonly<Record<string, { arity: number | 'many'; apply: (...args: number[]) => number }>> = {
  sqrt: { arity: 1, apply: Math.sqrt },
  cbrt: { arity: 1, apply: Math.cbrt },
  abs: { arity: 1, apply: Math.abs },
  exp: { arity: 1, apply: Math.exp },
  ln: { arity: 1, apply: Math.log },
  log: { arity: 1, apply: Math.log10 },
  log2: { arity: 1, apply: Math.log2 },
  sin: { arity: 1, apply: Math.sin },
  cos: { arity: 1, apply: Math.cos },
  tan: { arity: 1, apply: Math.tan },
  asin: { arity: 1, apply: Math.asin },
  acos: { arity: 1, apply: Math.acos },
  atan: { arity: 1, apply: Math.atan },
  floor: { arity: 1, apply: Math.floor },
  ceil: { arity: 1, apply: Math.ceil },
  round: { arity: 1, apply: Math.round },
  min: { arity: 'many', apply: Math.min },
  max: { arity: 'many', apply: Math.max },
  pow: { arity: 2, apply: Math.pow },
}

const CONSTANTS: Readonly<Record<string, number>> = { pi: Math.PI, e: Math.E }

type Token = { kind: 'number'; value: number; at: number } | { kind: 'name'; value: string; at: number } | { kind: 'op'; value: string; at: number }

const MAX_LENGTH = 1_000
const MAX_DEPTH = 100

function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  let at = 0
  while (at < source.length) {
    const char = source[at]!
    if (/\s/.test(char)) {
      at++
      continue
    }
    const number = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(at, at + 400))
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), at })
      at += number[0].length
      continue
    }
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(source.slice(at, at + 64))
    if (name) {
      tokens.push({ kind: 'name', value: name[0].toLowerCase(), at })
      at += name[0].length
      continue
    }
    if (source.startsWith('**', at)) {
      tokens.push({ kind: 'op', value: '^', at })
      at += 2
      continue
    }
    const op = { '×': '*', '·': '*', '÷': '/', '−': '-' }[char] ?? char
    if (!'+-*/%^(),'.includes(op)) throw new ExpressionError(`Unexpected character "${char}" at position ${at + 1}`)
    tokens.push({ kind: 'op', value: op, at })
    at++
  }
  return tokens
}

/** The value of `source`; throws ExpressionError for what is not a valid expression or has no finite value. */
export function evaluate(source: string): number {
  if (source.length > MAX_LENGTH) throw new ExpressionError(`The expression is longer than ${MAX_LENGTH} characters`)
  const tokens = tokenize(source)
  let index = 0
  let depth = 0
  const peek = () => tokens[index]
  const isOp = (value: string) => {
    const token = peek()
    return token?.kind === 'op' && token.value === value
  }
  const expect = (value: string) => {
    if (!isOp(value)) throw new ExpressionError(`Expected "${value}" ${where()}`)
    index++
  }
  const where = () => {
    const token = peek()
    return token ? `at position ${token.at + 1}` : 'at the end'
  }
  const nested = <T>(parse: () => T): T => {
    if (++depth > MAX_DEPTH) throw new ExpressionError('The expression is nested too deeply')
    try {
      return parse()
    } finally {
      depth--
    }
  }

  const expression = (): number =>
    nested(() => {
      let value = term()
      while (isOp('+') || isOp('-')) {
        const op = tokens[index++]!.value
        const right = term()
        value = op === '+' ? value + right : value - right
      }
      return value
    })

  const term = (): number => {
    let value = unary()
    while (isOp('*') || isOp('/') || isOp('%')) {
      const op = tokens[index++]!.value
      const right = unary()
      if ((op === '/' || op === '%') && right === 0) throw new ExpressionError('Division by zero')
      value = op === '*' ? value * right : op === '/' ? value / right : value % right
    }
    return value
  }

  const unary = (): number =>
    nested(() => {
      if (isOp('-')) {
        index++
        return -unary()
      }
      if (isOp('+')) {
        index++
        return unary()
      }
      return power()
    })

  const power = (): number => {
    const base = primary()
    if (!isOp('^')) return base
    index++
    return Math.pow(base, unary())
  }

  const primary = (): number => {
    const token = peek()
    if (!token) throw new ExpressionError('The expression ends too early')
    if (token.kind === 'number') {
      index++
      return token.value
    }
    if (token.kind === 'name') {
      index++
      // Own entries only: `constructor` or `toString` are names like any other unknown one.
      const fn = Object.hasOwn(FUNCTIONS, token.value) ? FUNCTIONS[token.value] : undefined
      if (fn) {
        expect('(')
        const args = [expression()]
        while (isOp(',')) {
          index++
          args.push(expression())
        }
        expect(')')
        if (fn.arity !== 'many' && args.length !== fn.arity) {
          throw new ExpressionError(`${token.value}() takes ${fn.arity} argument${fn.arity === 1 ? '' : 's'}, got ${args.length}`)
        }
        return fn.apply(...args)
      }
      const constant = Object.hasOwn(CONSTANTS, token.value) ? CONSTANTS[token.value] : undefined
      if (constant !== undefined) return constant
      throw new ExpressionError(`Unknown name "${token.value}" at position ${token.at + 1}`)
    }
    if (token.value === '(') {
      index++
      const value = expression()
      expect(')')
      return value
    }
    throw new ExpressionError(`Unexpected "${token.value}" ${where()}`)
  }

  if (tokens.length === 0) throw new ExpressionError('The expression is empty')
  const value = expression()
  if (index < tokens.length) throw new ExpressionError(`Unexpected "${tokens[index]!.value}" ${where()}`)
  if (!Number.isFinite(value)) throw new ExpressionError('The result is not a finite number')
  return value
}

/** A result as people write it: at most 12 significant digits, so 0.1 + 0.2 is 0.3. */
export function formatNumber(value: number): string {
  const rounded = Number(value.toPrecision(12))
  return Object.is(rounded, -0) ? '0' : String(rounded)
}
