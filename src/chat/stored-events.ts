import type { GenerationRow } from '../db/repositories/generations'
import type { MessageRow } from '../db/repositories/messages'
import { sequenced, type GenerationEvent, type SequencedEvent } from '../stream/events'
import { startedEvent } from './chat-task'
import type { Part } from './parts'

/**
 * A finished generation's events rebuilt from what the database kept, for an Idempotency-Key retry that arrives
 * after the hub let the original events expire (or a stored response streamed again): the stored parts in order (text
 * and reasoning as one delta each, tool calls and results as their events), usage, then the outcome.
 */
export async function* storedGenerationEvents(generation: GenerationRow, message: MessageRow): AsyncGenerator<SequencedEvent[]> {
  const generationId = generation.id
  const usage = { inputTokens: generation.inputTokens ?? 0, outputTokens: generation.outputTokens ?? 0 }
  const events: GenerationEvent[] = [startedEvent(generation)]
  for (const part of message.parts as Part[]) {
    if (part.type === 'text' && part.text) events.push({ type: 'text.delta', data: { generationId, delta: part.text } })
    else if (part.type === 'reasoning' && part.text) events.push({ type: 'reasoning.delta', data: { generationId, delta: part.text } })
    else if (part.type === 'tool_call') events.push({ type: 'tool.call', data: { generationId, toolUseId: part.toolUseId, name: part.name, input: part.input } })
    else if (part.type === 'tool_result') events.push({ type: 'tool.result', data: { generationId, toolUseId: part.toolUseId, output: part.content, isError: part.isError } })
  }
  if (generation.inputTokens !== null) events.push({ type: 'usage', data: { generationId, ...usage } })
  if (generation.status === 'completed') {
    events.push({
      type: 'generation.completed',
      data: { generationId, assistantMessageId: message.id, stopReason: message.stopReason ?? 'end_turn', usage, latencyMs: message.latencyMs ?? 0 },
    })
  } else if (generation.status === 'cancelled') {
    events.push({ type: 'generation.cancelled', data: { generationId } })
  } else {
    const code = generation.errorCode ?? 'internal'
    events.push({ type: 'generation.failed', data: { generationId, code, message: `The generation failed (${code})`, retryable: false } })
  }
  yield events.map((event, index) => sequenced(event, index + 1))
}
