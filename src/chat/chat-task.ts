import { BedrockError, toApiErrorCode } from '../bedrock/bedrock-error'
import { toConverseMessages } from '../bedrock/content-mapping'
import { converseStreamBatches } from '../bedrock/converse-stream'
import type { ConverseRequest, InferenceConfig, TokenUsage } from '../bedrock/types'
import { finalizeGeneration, type GenerationRow } from '../db/repositories/generations'
import { checkpointMessage, type HistoryMessage } from '../db/repositories/messages'
import type { GenerationEvent } from '../stream/events'
import { GenerationInterrupted, type Producer } from '../stream/hub'
import type { Services } from '../types'
import type { Part } from './parts'

export interface ChatTurn {
  generation: GenerationRow
  history: HistoryMessage[]
  systemPrompt: string | null
  inference: InferenceConfig
}

const CHECKPOINT_MS = 1_000

export function startedEvent(generation: GenerationRow): GenerationEvent {
  return {
    type: 'generation.started',
    data: {
      generationId: generation.id,
      conversationId: generation.conversationId,
      userMessageId: generation.userMessageId,
      assistantMessageId: generation.assistantMessageId,
      modelId: generation.modelId,
    },
  }
}

/** Collects streamed content blocks into message parts, by block index. */
class PartsBuilder {
  private readonly blocks = new Map<number, Part & { inputJson?: string }>()

  text(index: number, text: string) {
    const block = this.blocks.get(index)
    if (block?.type === 'text') block.text += text
    else this.blocks.set(index, { type: 'text', text })
  }

  reasoning(index: number, text = '', signature?: string) {
    const block = this.blocks.get(index)
    if (block?.type === 'reasoning') {
      block.text += text
      if (signature) block.signature = (block.signature ?? '') + signature
    } else this.blocks.set(index, { type: 'reasoning', text, ...(signature ? { signature } : {}) })
  }

  toolStart(index: number, toolUseId: string, name: string) {
    this.blocks.set(index, { type: 'tool_call', toolUseId, name, input: {}, inputJson: '' })
  }

  toolInput(index: number, json: string) {
    const block = this.blocks.get(index)
    if (block?.type === 'tool_call') block.inputJson = (block.inputJson ?? '') + json
  }

  /** Closes a tool block, parsing its accumulated input; returns it for the tool.call event. */
  toolStop(index: number): Extract<Part, { type: 'tool_call' }> | null {
    const block = this.blocks.get(index)
    if (block?.type !== 'tool_call') return null
    try {
      block.input = block.inputJson ? JSON.parse(block.inputJson) : {}
    } catch {
      block.input = { raw: block.inputJson }
    }
    delete block.inputJson
    return block
  }

  parts(): Part[] {
    return [...this.blocks.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, block]) => {
        if (block.type !== 'tool_call' || block.inputJson === undefined) return block
        const { inputJson: _, ...part } = block
        return part
      })
  }
}

function converseRequest(turn: ChatTurn): ConverseRequest {
  return {
    modelId: turn.generation.modelId,
    messages: toConverseMessages(turn.history.map((message) => ({ role: message.role, parts: message.parts as Part[], status: message.status }))),
    ...(turn.systemPrompt ? { system: [{ text: turn.systemPrompt }] } : {}),
    inferenceConfig: turn.inference,
  }
}

/**
 * The `chat` task: history → ConverseStream → events, checkpointing partial text, then one final write.
 * Persist, then announce: the terminal event is emitted only after the message is finalized.
 */
export function chatProducer(services: Services, turn: ChatTurn): Producer {
  const { generation } = turn
  const generationId = generation.id
  return async ({ signal, emit }) => {
    const started = Date.now()
    const { metrics } = services
    const model = { model: generation.modelId }
    let firstToken = true
    const builder = new PartsBuilder()
    let usage: TokenUsage | null = null
    let stopReason: string | null = null
    let checkpoint: Promise<void> = Promise.resolve()
    let lastCheckpoint = started

    metrics.activeGenerations.inc()
    emit(startedEvent(generation))

    const finalize = async (outcome: Pick<Parameters<typeof finalizeGeneration>[1], 'state' | 'messageStatus' | 'errorCode'>) => {
      metrics.activeGenerations.dec()
      metrics.generations.inc({ ...model, outcome: outcome.state })
      if (usage) {
        metrics.tokens.inc({ ...model, direction: 'input' }, usage.inputTokens)
        metrics.tokens.inc({ ...model, direction: 'output' }, usage.outputTokens)
      }
      await checkpoint
      await finalizeGeneration(services.db, {
        generationId,
        conversationId: generation.conversationId,
        assistantMessageId: generation.assistantMessageId,
        parts: builder.parts(),
        usage: usage ? { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens } : null,
        stopReason,
        latencyMs: Date.now() - started,
        now: services.now(),
        ...outcome,
      })
    }

    try {
      const events = await services.models.converseStream(converseRequest(turn), { signal })
      // One await per network chunk: its events are handled (and emitted) together, so subscribers get them as one
      // batch and the SSE encoder writes once per chunk rather than once per event.
      for await (const batch of converseStreamBatches(events)) {
        for (const event of batch) {
          switch (event.type) {
            case 'textDelta':
              if (firstToken) {
                firstToken = false
                metrics.timeToFirstToken.observe(model, (Date.now() - started) / 1000)
              }
              builder.text(event.index, event.text)
              emit({ type: 'text.delta', data: { generationId, delta: event.text } })
              break
            case 'reasoningDelta':
              builder.reasoning(event.index, event.text, event.signature)
              if (event.text) emit({ type: 'reasoning.delta', data: { generationId, delta: event.text } })
              break
            case 'contentBlockStart':
              if (event.toolUse) builder.toolStart(event.index, event.toolUse.toolUseId, event.toolUse.name)
              break
            case 'toolUseDelta':
              builder.toolInput(event.index, event.input)
              break
            case 'contentBlockStop': {
              const call = builder.toolStop(event.index)
              if (call) emit({ type: 'tool.call', data: { generationId, toolUseId: call.toolUseId, name: call.name, input: call.input } })
              break
            }
            case 'messageStop':
              stopReason = event.stopReason
              break
            case 'metadata':
              usage = event.usage
              emit({ type: 'usage', data: { generationId, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens } })
              break
          }
        }
        const now = Date.now()
        if (now - lastCheckpoint >= CHECKPOINT_MS) {
          lastCheckpoint = now
          const parts = builder.parts()
          checkpoint = checkpoint.then(() => checkpointMessage(services.db, generation.assistantMessageId, parts, services.now()))
        }
      }
      if (signal.aborted) throw signal.reason
      await finalize({ state: 'completed', messageStatus: 'complete', errorCode: null })
      emit({
        type: 'generation.completed',
        data: {
          generationId,
          assistantMessageId: generation.assistantMessageId,
          stopReason: stopReason ?? 'end_turn',
          usage: { inputTokens: usage?.inputTokens ?? 0, outputTokens: usage?.outputTokens ?? 0 },
          latencyMs: Date.now() - started,
        },
      })
    } catch (error) {
      const hasContent = builder.parts().length > 0
      if (signal.aborted && signal.reason instanceof GenerationInterrupted) {
        stopReason = 'interrupted'
        await finalize({ state: 'failed', messageStatus: hasContent ? 'incomplete' : 'failed', errorCode: 'interrupted' })
        emit({ type: 'generation.failed', data: { generationId, code: 'interrupted', message: signal.reason.message, retryable: true } })
        return
      }
      if (signal.aborted) {
        stopReason = 'cancelled'
        await finalize({ state: 'cancelled', messageStatus: 'cancelled', errorCode: null })
        emit({ type: 'generation.cancelled', data: { generationId } })
        return
      }
      const code = error instanceof BedrockError ? toApiErrorCode(error) : 'internal'
      const message = error instanceof BedrockError ? error.message : 'The generation failed unexpectedly'
      if (!(error instanceof BedrockError)) services.logger.error('generation failed', { generationId, error: String(error) })
      stopReason = 'error'
      await finalize({ state: 'failed', messageStatus: hasContent ? 'incomplete' : 'failed', errorCode: code })
      emit({
        type: 'generation.failed',
        data: { generationId, code, message, retryable: error instanceof BedrockError ? error.retryable : false },
      })
    }
  }
}

