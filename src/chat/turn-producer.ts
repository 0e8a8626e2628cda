import { AppError } from '../errors'
import { ModelError, type ModelRequest } from '../models/model-client'
import { modelMetricLabel } from '../models/resolve'
import type { GenerationEvent } from '../stream/events'
import { GenerationInterrupted, type Producer } from '../stream/hub'
import type { Services } from '../types'
import { Deadlines } from './deadlines'
import type { UsageRecord } from './governance'
import { usageEntry } from '../governance/ledger'
import { PartsBuilder } from './parts-builder'
import type { TurnOutcome, TurnPersistence } from './persistence'
import { runStep, type StepResult } from './run-step'
import { runToolRound } from '../tools/tool-round'
import type { Toolset } from '../tools/toolset'

const CHECKPOINT_MS = 1_000

/** What one turn runs, whatever stores it. */
export interface TurnSpec {
  generationId: string
  modelId: string
  /** The `generation.started` event. */
  started: GenerationEvent
  /** Named by `generation.completed` (empty when nothing is stored). */
  assistantMessageId: string
  /** Builds the first model request (loading media bytes, say): inside the turn's deadlines. */
  request(): Promise<ModelRequest>
  /** Who the usage is recorded for. */
  account: Pick<UsageRecord, 'workspaceId' | 'userId' | 'apiKeyId' | 'conversationId'>
  /** The tools the server runs for this turn, once `request()` resolved; none when absent or null. */
  tools?: (() => Toolset | null) | undefined
}

/** The last step's request: no tools, so the model must answer (the provider shows earlier tool use as text). */
const withoutTools = (request: ModelRequest): ModelRequest => ({ ...request, tools: undefined, toolChoice: undefined })

/**
 * A turn as a producer: `generation.started`, then model steps — while the model stops for tool use and the server
 * runs the tools it called, their results go back to it, up to MAX_TOOL_STEPS model calls (the last without tools) —
 * then the outcome — stored through `persistence`, its usage recorded through
 * governance, and only then announced as the terminal event.
 */
export function turnProducer(services: Services, spec: TurnSpec, persistence: TurnPersistence): Producer {
  const { generationId } = spec
  return async ({ signal, emit }) => {
    const started = Date.now()
    const { metrics, config } = services
    const model = { model: modelMetricLabel(config, spec.modelId) }
    let firstToken = true
    const builder = new PartsBuilder()
    const result: StepResult = { stopReason: null, usage: null, calls: [] }
    let lastCheckpoint = started
    const checkpoint = persistence.checkpoint

    metrics.activeGenerations.inc()
    emit(spec.started)

    // Counted once the outcome is stored: a store that fails (and is retried as a failure below) counts once.
    const finish = async (outcome: Pick<TurnOutcome, 'state' | 'messageStatus' | 'errorCode'>) => {
      const { usage, stopReason } = result
      // One ledger row per model call: each step of the tool loop (`step` counting from 0).
      const at = services.now()
      const ledger = result.calls.map((call, step) => usageEntry(config, { id: services.newId('use'), ...spec.account, generationId, step, modelId: spec.modelId, usage: call, at }))
      await persistence.finish({ ...outcome, parts: builder.parts(), usage, stopReason, latencyMs: Date.now() - started, ledger })
      metrics.generations.inc({ ...model, outcome: outcome.state })
      if (usage) {
        metrics.tokens.inc({ ...model, direction: 'input' }, usage.inputTokens)
        metrics.tokens.inc({ ...model, direction: 'output' }, usage.outputTokens)
      }
      await services.governance
        .recordUsage({
          ...spec.account,
          generationId,
          modelId: spec.modelId,
          outcome: outcome.state,
          inputTokens: usage?.inputTokens ?? 0,
          outputTokens: usage?.outputTokens ?? 0,
          cacheReadTokens: usage?.cacheReadTokens ?? 0,
          cacheWriteTokens: usage?.cacheWriteTokens ?? 0,
          costPicoUsd: ledger.reduce((total, entry) => total + entry.costPicoUsd, 0),
        })
        .catch((error: unknown) => services.logger.error('usage could not be recorded', { generationId, error: String(error) }))
    }

    // Each model call has its own deadlines (tools run between them); the generation's limit spans them all.
    const callDeadlines = () =>
      new Deadlines(signal, {
        connectSeconds: config.UPSTREAM_CONNECT_TIMEOUT_SECONDS,
        firstTokenSeconds: config.UPSTREAM_FIRST_TOKEN_TIMEOUT_SECONDS,
        idleSeconds: config.UPSTREAM_IDLE_TIMEOUT_SECONDS,
        generationSeconds: Math.max(0, config.GENERATION_MAX_SECONDS - (Date.now() - started) / 1000),
      })
    let deadlines = callDeadlines()
    const step = {
      generationId,
      deadlines,
      builder,
      emit,
      onFirstText: () => {
        if (!firstToken) return
        firstToken = false
        metrics.timeToFirstToken.observe(model, (Date.now() - started) / 1000)
      },
      onBatch: checkpoint
        ? () => {
            const now = Date.now()
            if (now - lastCheckpoint < CHECKPOINT_MS) return
            lastCheckpoint = now
            checkpoint(builder.parts())
          }
        : () => {},
    }
    // Every model call is checked against the limits; the turn's first was checked before it started, and later steps
    // check again under the same generation id (replacing what it holds).
    const checkStepLimits = async () => {
      const { workspaceId, userId, apiKeyId, conversationId } = spec.account
      if (!workspaceId) return
      await services.governance.checkLimits({ auth: { userId, apiKeyId, workspaceScope: null, scopes: [] }, modelId: spec.modelId, conversationId, workspaceId, generationId })
    }
    try {
      await steps()
    } finally {
      metrics.activeGenerations.dec()
    }

    async function steps(): Promise<void> {
      try {
        const first = await deadlines.race(spec.request())
        const tools = spec.tools?.() ?? null
        // The step loop: one model call per step, then the server's tool calls, for as long as the model asks for them.
        for (let request = first, number = 1; ; number++) {
          // Only a turn whose tools the server runs has a last step (a stateless turn's tools are the caller's).
          const last = tools !== null && number >= config.MAX_TOOL_STEPS
          if (number > 1) await checkStepLimits()
          const calls = await runStep(services.models, last ? withoutTools(request) : request, step, result)
          if (last || !tools || result.stopReason !== 'tool_use' || calls.length === 0) break
          deadlines.dispose()
          const more = await runToolRound(tools, calls, { generationId, signal, emit, builder })
          checkpoint?.(builder.parts())
          lastCheckpoint = Date.now()
          if (!more) break
          // A tool choice steers the turn's first call only: the model then answers the results as it sees fit.
          request = { ...first, toolChoice: undefined, messages: [...first.messages, { role: 'assistant', parts: builder.parts(), status: 'complete' }] }
          step.deadlines = deadlines = callDeadlines()
        }
        deadlines.dispose()
        await finish({ state: 'completed', messageStatus: 'complete', errorCode: null })
        emit({
          type: 'generation.completed',
          data: {
            generationId,
            assistantMessageId: spec.assistantMessageId,
            stopReason: result.stopReason ?? 'end_turn',
            usage: { inputTokens: result.usage?.inputTokens ?? 0, outputTokens: result.usage?.outputTokens ?? 0 },
            latencyMs: Date.now() - started,
          },
        })
      } catch (error) {
        deadlines.dispose()
        const hasContent = !builder.empty
        if (signal.aborted && signal.reason instanceof GenerationInterrupted) {
          result.stopReason = 'interrupted'
          await finish({ state: 'failed', messageStatus: hasContent ? 'incomplete' : 'failed', errorCode: 'interrupted' })
          emit({ type: 'generation.failed', data: { generationId, code: 'interrupted', message: signal.reason.message, retryable: true } })
          return
        }
        if (signal.aborted) {
          result.stopReason = 'cancelled'
          await finish({ state: 'cancelled', messageStatus: 'cancelled', errorCode: null })
          emit({ type: 'generation.cancelled', data: { generationId } })
          return
        }
        const timeout = deadlines.timeout
        if (timeout) {
          services.logger.warn('model call timed out', { generationId, phase: timeout.phase, seconds: timeout.seconds })
          result.stopReason = 'timeout'
          await finish({ state: 'failed', messageStatus: hasContent ? 'incomplete' : 'failed', errorCode: 'upstream_timeout' })
          emit({ type: 'generation.failed', data: { generationId, code: 'upstream_timeout', message: timeout.message, retryable: true } })
          return
        }
        // A later step of the tool loop refused by the limits ends the turn with what it did.
        if (error instanceof AppError) {
          result.stopReason = 'error'
          await finish({ state: 'failed', messageStatus: hasContent ? 'incomplete' : 'failed', errorCode: error.code })
          emit({ type: 'generation.failed', data: { generationId, code: error.code, message: error.message, retryable: true } })
          return
        }
        // The provider's own text stays in the log: it can name accounts and resources.
        if (error instanceof ModelError) services.logger.warn('model call failed', { generationId, ...error.log })
        else services.logger.error('generation failed', { generationId, error: String(error) })
        const code = error instanceof ModelError ? error.code : 'internal'
        const message = error instanceof ModelError ? error.message : 'The generation failed unexpectedly'
        result.stopReason = 'error'
        await finish({ state: 'failed', messageStatus: hasContent ? 'incomplete' : 'failed', errorCode: code })
        emit({ type: 'generation.failed', data: { generationId, code, message, retryable: error instanceof ModelError ? error.retryable : false } })
      }
    }
  }
}
