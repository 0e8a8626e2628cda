import type { SequencedEvent, Usage } from '../stream/events'

export type TurnEnding =
  | { type: 'completed'; stopReason: string; latencyMs: number }
  | { type: 'failed'; code: string; message: string; retryable: boolean }
  | { type: 'cancelled' }

/** A turn's events folded into its answer, for the protocols that answer once rather than stream. */
export interface CollectedTurn {
  generationId: string | null
  modelId: string | null
  text: string
  reasoning: string
  toolCalls: { toolUseId: string; name: string; input: unknown }[]
  usage: Usage | null
  /** Null when the events ended without a terminal event (a subscription cut short). */
  ending: TurnEnding | null
}

/** Reads a turn's events to the end and folds them (the deltas joined, the last usage, the terminal event). */
export async function collectTurn(events: AsyncIterable<SequencedEvent[]>): Promise<CollectedTurn> {
  const turn: CollectedTurn = { generationId: null, modelId: null, text: '', reasoning: '', toolCalls: [], usage: null, ending: null }
  for await (const batch of events) {
    for (const event of batch) {
      switch (event.type) {
        case 'generation.started':
          turn.generationId = event.data.generationId
          turn.modelId = event.data.modelId
          break
        case 'text.delta':
          turn.text += event.data.delta
          break
        case 'reasoning.delta':
          turn.reasoning += event.data.delta
          break
        case 'tool.call':
          turn.toolCalls.push({ toolUseId: event.data.toolUseId, name: event.data.name, input: event.data.input })
          break
        case 'usage':
          turn.usage = { inputTokens: event.data.inputTokens, outputTokens: event.data.outputTokens }
          break
        case 'generation.completed':
          turn.ending = { type: 'completed', stopReason: event.data.stopReason, latencyMs: event.data.latencyMs }
          break
        case 'generation.failed':
          turn.ending = { type: 'failed', code: event.data.code, message: event.data.message, retryable: event.data.retryable }
          break
        case 'generation.cancelled':
          turn.ending = { type: 'cancelled' }
          break
      }
    }
  }
  return turn
}
