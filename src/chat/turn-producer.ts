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
}

/** The request that continues the turn after a step, or null when the answer is complete (always, until tools run). */
const nextStep = (_result: StepResult): ModelRequest | null => null

/**
 * A turn as a producer: `generation.started`, then model steps (one today; the tool loop will add steps while the
 * model stops for tool use), then the outcome — stored through `persistence`, its usage recorded through
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
    const result: StepResult = { stopReason: null, usage: null }
    let lastCheckpoint = started
    const checkpoint = persistence.checkpoint

    metrics.activeGenerations.inc()
    emit(spec.started)

    // Counted once the outcome is stored: a store that fails (and is retried as a failure below) counts once.
    const finish = async (outcome: Pick<TurnOutcome, 'state' | 'messageStatus' | 'errorCode'>) => {
      const { usage, stopReason } = result
      // One ledger row per model call (the tool loop adds one per step, `step` counting from 0).
      const ledger = usage ? [usageEntry(config, { id: services.newId('use'), ...spec.account, generationId, step: 0, modelId: spec.modelId, usage, at: services.now() })] : []
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

    const deadlines = new Deadlines(signal, {
      connectSeconds: config.UPSTREAM_CONNECT_TIMEOUT_SECONDS,
      firstTokenSeconds: config.UPSTREAM_FIRST_TOKEN_TIMEOUT_SECONDS,
      idleSeconds: config.UPSTREAM_IDLE_TIMEOUT_SECONDS,
      generationSeconds: config.GENERATION_MAX_SECONDS,
    })
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
    try {
      await steps()
    } finally {
      metrics.activeGenerations.dec()
    }

    async function steps(): Promise<void> {
      try {
        // The step loop: one model call per step, for as long as the answer asks for another (the tool loop's place).
        for (let request: ModelRequest | null = await deadlines.race(spec.request()); request; request = nextStep(result)) {
          await runStep(services.models, request, step, result)
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
