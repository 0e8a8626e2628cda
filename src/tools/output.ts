import type { ToolOutcome } from './tool'

/**
 * A tool's output within `maxChars` characters of text (JSON output counted as its JSON text). Longer output is cut
 * and says so at its end, so the model knows it saw part of it.
 */
export function capOutput(outcome: ToolOutcome, maxChars: number): ToolOutcome {
  const { output } = outcome
  const text = typeof output === 'string' ? output : (JSON.stringify(output) ?? 'null')
  if (text.length <= maxChars) return outcome
  let cut = text.slice(0, maxChars)
  // Never split a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1)
  return { output: `${cut}\n[output truncated: the first ${cut.length} of ${text.length} characters]`, isError: outcome.isError }
}

/** An error result the model sees (a failed, timed-out or unreachable tool), never a failed turn. */
export const toolError = (message: string): ToolOutcome => ({ output: message, isError: true })
