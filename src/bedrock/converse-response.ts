import { BedrockError } from './bedrock-error'
import type { ConverseContentBlock, ConverseResponse, TokenUsage } from './types'

/** Checks the parts of a Converse JSON response we rely on; extra fields pass through untouched. */
export function toConverseResponse(body: unknown): ConverseResponse {
  const root = asObject(body)
  const message = asObject(asObject(root?.output)?.message)
  const content = message?.content
  const usage = asObject(root?.usage)
  if (!message || message.role !== 'assistant' || !Array.isArray(content) || typeof root?.stopReason !== 'string' || !usage) {
    throw new BedrockError({ type: 'InvalidResponse', message: 'malformed Converse response', retryable: false })
  }
  if (typeof usage.inputTokens !== 'number' || typeof usage.outputTokens !== 'number') {
    throw new BedrockError({ type: 'InvalidResponse', message: 'malformed Converse usage', retryable: false })
  }
  const latencyMs = asObject(root.metrics)?.latencyMs
  return {
    output: { message: { role: 'assistant', content: content as ConverseContentBlock[] } },
    stopReason: root.stopReason,
    usage: usage as unknown as TokenUsage,
    metrics: { latencyMs: typeof latencyMs === 'number' ? latencyMs : 0 },
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}
