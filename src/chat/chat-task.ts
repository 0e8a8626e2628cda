import { BedrockError, publicMessage, toApiErrorCode } from '../bedrock/bedrock-error'
import { buildConverseMessages } from '../bedrock/content-mapping'
import { converseStreamBatches } from '../bedrock/converse-stream'
import type { ConverseRequest, ConverseStreamEvent, InferenceConfig, TokenUsage } from '../bedrock/types'
import type { Database } from '../db/database'
import { finalizeGeneration, type GenerationRow } from '../db/repositories/generations'
import { checkpointMessage, messageParts, partsBytes, type HistoryMessage } from '../db/repositories/messages'
import type { GenerationEvent } from '../stream/events'
import { GenerationInterrupted, type Producer } from '../stream/hub'
import { modelMetricLabel } from '../models/resolve'
import type { Services } from '../types'
import { Deadlines } from './deadlines'
import { hasMediaStubs } from './history'
import type { Part } from './parts'

export interface ChatTurn {
  generation: GenerationRow
  /** The chain fitted to the model (fitHistory), media without their bytes (loaded when the request is built). */
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

/** The history with the bytes of the media it keeps, read from the database now. */
async function withMedia(db: Database, history: readonly HistoryMessage[]): Promise<HistoryMessage[]> {
  const stored = await messageParts(
    db,
    history.filter((message) => hasMediaStubs(message.parts)).map((message) => message.id),
  )
  return history.map((message) => {
    const parts = stored.get(message.id)
    return parts ? { ...message, parts } : message
  })
}

const isContent = (event: ConverseStreamEvent) =>
  event.type === 'textDelta' || event.type === 'reasoningDelta' || event.type === 'toolUseDelta' || (event.type === 'contentBlockStart' && event.toolUse !== undefined)

async function converseRequest(db: Database, turn: ChatTurn): Promise<ConverseRequest> {
  const history = await withMedia(db, turn.history)
  return {
    modelId: turn.generation.modelId,
    messages: buildConverseMessages(history.map((message) => ({ role: message.role, parts: message.parts as Part[], status: message.status }))),
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
    const model = { model: modelMetricLabel(services.config, generation.modelId) }
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
      const parts = builder.parts()
      await finalizeGeneration(services.db, {
        generationId,
        conversationId: generation.conversationId,
        assistantMessageId: generation.assistantMessageId,
        parts,
        addedBytes: partsBytes(parts) - partsBytes([]),
        usage: usage ? { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens } : null,
        stopReason,
        latencyMs: Date.now() - started,
        now: services.now(),
        ...outcome,
      })
    }

    const { config } = services
    const deadlines = new Deadlines(signal, {
      connectSeconds: config.UPSTREAM_CONNECT_TIMEOUT_SECONDS,
      firstTokenSeconds: config.UPSTREAM_FIRST_TOKEN_TIMEOUT_SECONDS,
      idleSeconds: config.UPSTREAM_IDLE_TIMEOUT_SECONDS,
      generationSeconds: config.GENERATION_MAX_SECONDS,
    })
    let batches: AsyncIterator<ConverseStreamEvent[]> | undefined
    try {
      const request = await deadlines.race(converseRequest(services.db, turn))
      const events = await deadlines.race(services.models.converseStream(request, { signal: deadlines.signal }))
      deadlines.connected()
      batches = converseStreamBatches(events)[Symbol.asyncIterator]()
      // One await per network chunk: its events are handled (and emitted) together, so subscribers get them as one
      // batch and the SSE encoder writes once per chunk rather than once per event. The race ends the wait at a
      // deadline even if the body ignores the signal.
      for (let next = await deadlines.race(batches.next()); !next.done; next = await deadlines.race(batches.next())) {
        const batch = next.value
        deadlines.events(batch.some(isContent))
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
      if (deadlines.signal.aborted) throw deadlines.signal.reason
      deadlines.dispose()
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
      deadlines.dispose()
      if (batches) void batches.return?.().catch(() => {})
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
      const timeout = deadlines.timeout
      if (timeout) {
        services.logger.warn('model call timed out', { generationId, phase: timeout.phase, seconds: timeout.seconds })
        stopReason = 'timeout'
        await finalize({ state: 'failed', messageStatus: hasContent ? 'incomplete' : 'failed', errorCode: 'upstream_timeout' })
        emit({ type: 'generation.failed', data: { generationId, code: 'upstream_timeout', message: timeout.message, retryable: true } })
        return
      }
      const code = error instanceof BedrockError ? toApiErrorCode(error) : 'internal'
      const message = error instanceof BedrockError ? publicMessage(error) : 'The generation failed unexpectedly'
      if (error instanceof BedrockError) {
        // Bedrock's own text stays in the log: it can name ARNs and account ids.
        services.logger.warn('model call failed', {
          generationId,
          upstreamRequestId: error.requestId,
          upstreamType: error.type,
          upstreamStatus: error.status,
          upstreamMessage: error.message,
          attempts: error.attempts,
        })
      } else services.logger.error('generation failed', { generationId, error: String(error) })
      stopReason = 'error'
      await finalize({ state: 'failed', messageStatus: hasContent ? 'incomplete' : 'failed', errorCode: code })
      emit({
        type: 'generation.failed',
        data: { generationId, code, message, retryable: error instanceof BedrockError ? error.retryable : false },
      })
    }
  }
}

