import type { Part } from '../chat/parts'
import type { PartsBuilder } from '../chat/parts-builder'
import type { GenerationEvent } from '../stream/events'
import type { Toolset } from './toolset'

export interface ToolRoundContext {
  generationId: string
  /** The turn's cancel: aborts every running call, and the round rejects with its reason. */
  signal: AbortSignal
  emit(event: GenerationEvent): void
  builder: PartsBuilder
}

/**
 * Runs a step's server-side tool calls in parallel (each within its time limit), emitting `tool.result` as each ends,
 * then appends their results to the answer in the order of the calls. True when the model can go on with them; false
 * when a call is for a client-side tool, which the client answers in its next turn.
 */
export async function runToolRound(toolset: Toolset, calls: readonly Extract<Part, { type: 'tool_call' }>[], context: ToolRoundContext): Promise<boolean> {
  const { generationId, signal, emit, builder } = context
  const server = calls.filter((call) => toolset.runs(call.name))
  const outcomes = await Promise.all(
    server.map(async (call) => {
      const outcome = await toolset.run(call, signal)
      emit({ type: 'tool.result', data: { generationId, toolUseId: call.toolUseId, output: outcome.output, isError: outcome.isError } })
      return { call, outcome }
    }),
  )
  for (const { call, outcome } of outcomes) builder.add({ type: 'tool_result', toolUseId: call.toolUseId, content: outcome.output, isError: outcome.isError })
  return server.length === calls.length
}
