/**
 * The generation's event union: the one source every encoder (native SSE, WebSocket, later OpenAI chunks and
 * the AI SDK UI stream) reads. Producers never encode.
 */
export interface Usage {
  inputTokens: number
  outputTokens: number
}

export type GenerationEvent =
  | {
      type: 'generation.started'
      data: { generationId: string; conversationId: string; userMessageId: string; assistantMessageId: string; modelId: string }
    }
  | { type: 'text.delta'; data: { generationId: string; delta: string } }
  | { type: 'reasoning.delta'; data: { generationId: string; delta: string } }
  | { type: 'tool.call'; data: { generationId: string; toolUseId: string; name: string; input: unknown } }
  | { type: 'tool.result'; data: { generationId: string; toolUseId: string; output: unknown; isError: boolean } }
  | { type: 'usage'; data: { generationId: string } & Usage }
  | {
      type: 'generation.completed'
      data: { generationId: string; assistantMessageId: string; stopReason: string; usage: Usage; latencyMs: number }
    }
  | { type: 'generation.failed'; data: { generationId: string; code: string; message: string; retryable: boolean } }
  | { type: 'generation.cancelled'; data: { generationId: string } }

/** An event with its sequence number within the generation (1, 2, 3, …): the SSE `id` and resume cursor. */
export type SequencedEvent = GenerationEvent & { id: number }

/**
 * The event numbered `id`. Built field by field: V8 gives each object made by `{ ...event, id }` a hidden class of
 * its own, which for the events a hub retains came to megabytes of classes and slow reads of every field.
 */
export function sequenced(event: GenerationEvent, id: number): SequencedEvent {
  return { id, type: event.type, data: event.data } as SequencedEvent
}

export type TerminalEvent = Extract<GenerationEvent, { type: 'generation.completed' | 'generation.failed' | 'generation.cancelled' }>

export function isTerminal(event: GenerationEvent): event is TerminalEvent {
  return event.type === 'generation.completed' || event.type === 'generation.failed' || event.type === 'generation.cancelled'
}

export type GenerationState = 'running' | 'completed' | 'failed' | 'cancelled'

export function stateOf(event: TerminalEvent): Exclude<GenerationState, 'running'> {
  return event.type === 'generation.completed' ? 'completed' : event.type === 'generation.failed' ? 'failed' : 'cancelled'
}
