import { z } from '@hono/zod-openapi'
import { evaluate, ExpressionError, formatNumber } from '../expression'
import { defineTool, ToolInputError } from '../tool'

export const calculator = defineTool({
  name: 'calculator',
  description:
    'Evaluates an arithmetic expression exactly as written and returns the number. Supports + - * / % ^ (power), parentheses, ' +
    'the constants pi and e, and the functions sqrt, cbrt, abs, exp, ln, log (base 10), log2, sin, cos, tan, asin, acos, atan, ' +
    'floor, ceil, round, min, max and pow.',
  input: z.object({ expression: z.string().min(1).max(1000).describe('The expression, e.g. "(2 + 3) * sqrt(16) ^ 2"') }),
  run({ expression }) {
    try {
      return formatNumber(evaluate(expression))
    } catch (error) {
      if (error instanceof ExpressionError) throw new ToolInputError(error.message)
      throw error
    }
  },
})
