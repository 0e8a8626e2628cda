import type { ModelClient, ModelPart, ModelRequest, ModelUsage, StopReason } from '../models/model-client'
import type { GenerationEvent } from '../stream/events'
import type { Deadlines } from './deadlines'
import type { Part } from './parts'
import type { PartsBuilder } from './parts-builder'

export interface StepContext {
  generationId: string
  deadlines: Deadlines
  /** The answer's parts so far (all steps of the turn). */
  builder: PartsBuilder
  emit(event: GenerationEvent): void
  /** The first text delta of the step arrived. */
  onFirstText(): void
  /** A batch was handled (its events emitted): where the caller checkpoints. */
  onBatch(): void
}

export interface StepResult {
  stopReason: StopReason | null
  /** The usage of every step so far. */
  usage: ModelUsage | null
  /** Each model call's own usage, in order (one ledger row each). */
  calls: ModelUsage[]
}

const add = (a: number | undefined, b: number | undefined) => (a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0))

function total(calls: readonly ModelUsage[]): ModelUsage {
  return calls.reduce((sum, call) => ({
    inputTokens: sum.inputTokens + call.inputTokens,
    outputTokens: sum.outputTokens + call.outputTokens,
    cacheReadTokens: add(sum.cacheReadTokens, call.cacheReadTokens),
    cacheWriteTokens: add(sum.cacheWriteTokens, call.cacheWriteTokens),
  }))
}

type ToolCallPart = Extract<Part, { type: 'tool_call' }>

const isContent = (part: ModelPart) =>
  part.type === 'textDelta' || part.type === 'reasoningDelta' || part.type === 'toolCallDelta' || part.type === 'toolCallStart'

/**
 * One model call turned into events: text and reasoning deltas, finished tool calls, usage. Its blocks go after those
 * of earlier steps in `builder`. Writes the stop reason and the usage (added to the earlier steps') into `result` as
 * they arrive (a failure after the usage keeps it), and throws what the call throws (ModelError, an AbortError at a
 * cancel or a missed deadline): the turn decides the outcome. Returns the tool calls the model made.
 */
export async function runStep(models: ModelClient, request: ModelRequest, step: StepContext, result: StepResult): Promise<ToolCallPart[]> {
  const { generationId, deadlines, builder, emit } = step
  const offset = builder.nextIndex
  const calls: ToolCallPart[] = []
  let firstText = true
  const stream = await deadlines.race(models.stream(request, { signal: deadlines.signal }))
  deadlines.connected()
  const batches = stream[Symbol.asyncIterator]()
  try {
    // One await per network chunk: its parts are handled (and emitted) together, so subscribers get them as one
    // batch and encoders write once per chunk rather than once per event. The race ends the wait at a deadline
    // even if the body ignores the signal.
    for (let next = await deadlines.race(batches.next()); !next.done; next = await deadlines.race(batches.next())) {
      const batch = next.value
      deadlines.events(batch.some(isContent))
      for (const part of batch) {
        switch (part.type) {
          case 'textDelta':
            if (firstText) {
              firstText = false
              step.onFirstText()
            }
            builder.text(offset + part.index, part.text)
            emit({ type: 'text.delta', data: { generationId, delta: part.text } })
            break
          case 'reasoningDelta':
            builder.reasoning(offset + part.index, part.text, part.signature)
            if (part.text) emit({ type: 'reasoning.delta', data: { generationId, delta: part.text } })
            break
          case 'toolCallStart':
            builder.toolStart(offset + part.index, part.toolCallId, part.name)
            break
          case 'toolCallDelta':
            builder.toolInput(offset + part.index, part.input)
            break
          case 'blockEnd': {
            const call = builder.toolStop(offset + part.index)
            if (call) {
              calls.push(call)
              emit({ type: 'tool.call', data: { generationId, toolUseId: call.toolUseId, name: call.name, input: call.input } })
            }
            break
          }
          case 'stop':
            result.stopReason = part.reason
            break
          case 'usage':
            result.calls.push(part.usage)
            result.usage = total(result.calls)
            emit({ type: 'usage', data: { generationId, inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens } })
            break
        }
      }
      step.onBatch()
    }
    if (deadlines.signal.aborted) throw deadlines.signal.reason
    return calls
  } catch (error) {
    void batches.return?.().catch(() => {})
    throw error
  }
}
