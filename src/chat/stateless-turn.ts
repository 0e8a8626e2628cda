import type { InferenceConfig, ModelMessage, ModelRequest } from '../models/model-client'
import type { ServerTool } from '../tools/tool'
import { createToolset, toolLimits } from '../tools/toolset'
import { inferenceFor, resolveModelId } from '../models/resolve'
import { isTerminal, sequenced, type GenerationEvent, type SequencedEvent } from '../stream/events'
import type { AuthContext, Services } from '../types'
import { usageWorkspace } from '../governance/limit-checks'
import { ledgerOnly } from './persistence'
import { turnProducer } from './turn-producer'

export interface StatelessTurnInput {
  auth: AuthContext
  /** Resolved as for a conversation's turn (catalog, MODEL_IDS, DEFAULT_MODEL_ID): an unknown id is a 400. */
  modelId?: string | undefined
  system: string | null
  /** The whole history, oldest first, as the caller sent it (media with their bytes). Nothing is stored. */
  messages: readonly ModelMessage[]
  inference?: InferenceConfig | undefined
  /** Tools the model may call, and how it picks (the caller runs them: their calls end the turn). */
  tools?: ModelRequest['tools']
  /** Tools the server runs in the turn's tool loop (the Responses API's built-in and MCP tools). */
  serverTools?: readonly ServerTool[] | undefined
  toolChoice?: ModelRequest['toolChoice']
  textFormat?: ModelRequest['textFormat']
  /** Cancels the turn (a client that went away): it then ends with `generation.cancelled`. */
  signal?: AbortSignal | undefined
  /** The `generationId` its events carry; a new `gen_` id by default. */
  generationId?: string | undefined
}

/**
 * A turn that stores nothing (Chat Completions): limits are checked (a refusal throws its AppError before anything
 * runs), then the turn runs in this process — deadlines included — and its events arrive as batches, numbered from 1,
 * the last one terminal. `generation.started` names no conversation or messages (empty strings). Cancel with
 * `signal`, or by leaving the loop (`return()`): the model call is aborted either way. Usage is recorded through
 * governance before the terminal event.
 */
export async function runStatelessTurn(services: Services, input: StatelessTurnInput): Promise<AsyncIterable<SequencedEvent[]>> {
  const modelId = resolveModelId(services.config, input.modelId)
  const generationId = input.generationId ?? services.newId('gen')
  const workspaceId = await usageWorkspace(services.db, input.auth)
  await services.governance.checkLimits({ auth: input.auth, modelId, conversationId: null, workspaceId, generationId })
  const inference = inferenceFor(services.config, modelId, input.inference)
  const controller = new AbortController()
  const outer = input.signal
  const onAbort = () => controller.abort(outer?.reason)
  if (outer?.aborted) onAbort()
  else outer?.addEventListener('abort', onAbort, { once: true })

  const toolset = input.serverTools?.length ? createToolset(input.serverTools, input.tools ?? [], toolLimits(services.config)) : null
  const queue = new EventQueue()
  const producer = turnProducer(
    services,
    {
      generationId,
      modelId,
      started: { type: 'generation.started', data: { generationId, conversationId: '', userMessageId: '', assistantMessageId: '', modelId } },
      assistantMessageId: '',
      request: () => Promise.resolve({ modelId, system: input.system, messages: input.messages, inference, tools: toolset?.definitions ?? input.tools, toolChoice: input.toolChoice, textFormat: input.textFormat }),
      tools: () => toolset,
      account: { workspaceId, userId: input.auth.userId, apiKeyId: input.auth.apiKeyId, conversationId: null },
    },
    ledgerOnly(services.db),
  )
  void producer({ signal: controller.signal, emit: (event) => queue.push(event) })
    .catch((error: unknown) => {
      services.logger.error('generation failed', { generationId, error: String(error) })
      if (!queue.ended) queue.push({ type: 'generation.failed', data: { generationId, code: 'internal', message: 'The generation failed unexpectedly', retryable: false } })
    })
    .finally(() => outer?.removeEventListener('abort', onAbort))
  return queue.batches(() => controller.abort(new DOMException('The caller stopped reading', 'AbortError')))
}

/** Events from a producer to one reader: what was emitted since the reader last asked comes as one batch. */
class EventQueue {
  private pending: SequencedEvent[] = []
  private count = 0
  private wake: (() => void) | undefined
  ended = false

  push(event: GenerationEvent): void {
    if (this.ended) return
    this.pending.push(sequenced(event, ++this.count))
    if (isTerminal(event)) this.ended = true
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  batches(stop: () => void): AsyncIterable<SequencedEvent[]> {
    let done = false
    const next = async (): Promise<IteratorResult<SequencedEvent[]>> => {
      while (!done && this.pending.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve))
      if (done || this.pending.length === 0) return { done: true, value: undefined }
      const batch = this.pending
      this.pending = []
      return { done: false, value: batch }
    }
    const iterator: AsyncIterableIterator<SequencedEvent[]> = {
      [Symbol.asyncIterator]: () => iterator,
      next,
      return: () => {
        if (!done && !this.ended) stop()
        done = true
        const wake = this.wake
        this.wake = undefined
        wake?.()
        return Promise.resolve({ done: true, value: undefined })
      },
    }
    return iterator
  }
}
