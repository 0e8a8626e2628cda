import type { InferenceConfig } from '../bedrock/types'
import { AppError } from '../errors'
import { modelRegistry, type ModelConfig } from './registry'

const SUGGESTIONS = 8

/**
 * The model a turn uses: the first candidate given (the turn's, then the conversation's), else DEFAULT_MODEL_ID.
 * An id turns may not use (see ModelRegistry.allows) is a 400 naming `modelId`, before anything is stored or sent.
 */
export function resolveModelId(config: ModelConfig, ...candidates: (string | null | undefined)[]): string {
  const modelId = candidates.find((candidate) => candidate) ?? config.DEFAULT_MODEL_ID
  const registry = modelRegistry(config)
  if (registry.allows(modelId)) return modelId
  const quoted = JSON.stringify(modelId.length > 100 ? `${modelId.slice(0, 100)}…` : modelId)
  const message =
    config.MODEL_IDS.length > 0
      ? `${quoted} is not one of the configured models: ${config.MODEL_IDS.slice(0, SUGGESTIONS).join(', ')}${config.MODEL_IDS.length > SUGGESTIONS ? ', …' : ''}`
      : `${quoted} is not a known model; GET /v1/models lists them, e.g. ${suggestions(config).join(', ')}`
  throw new AppError('validation_failed', `modelId: ${message}`, { errors: [{ path: 'modelId', message }] })
}

function suggestions(config: ModelConfig): string[] {
  const ids = modelRegistry(config)
    .list()
    .map((model) => model.id)
  return [...new Set([config.DEFAULT_MODEL_ID, ...ids])].slice(0, SUGGESTIONS)
}

/** The inference settings sent: maxTokens defaults to DEFAULT_MAX_TOKENS and is capped at the model's output limit. */
export function inferenceFor(config: ModelConfig & { DEFAULT_MAX_TOKENS: number }, modelId: string, requested: InferenceConfig = {}): InferenceConfig {
  const limit = modelRegistry(config).find(modelId)?.maxOutputTokens
  const maxTokens = requested.maxTokens ?? config.DEFAULT_MAX_TOKENS
  return { ...requested, maxTokens: limit ? Math.min(maxTokens, limit) : maxTokens }
}

/** The tokens history is fitted to: the model's context window, at most DEFAULT_CONTEXT_TOKENS. */
export function contextTokensFor(config: ModelConfig & { DEFAULT_CONTEXT_TOKENS: number }, modelId: string): number {
  const window = modelRegistry(config).find(modelId)?.contextWindow
  return window ? Math.min(window, config.DEFAULT_CONTEXT_TOKENS) : config.DEFAULT_CONTEXT_TOKENS
}

/** The `model` label of a metric (one function, so every metric bounds its series the same way). */
export function modelMetricLabel(config: ModelConfig, modelId: string): string {
  return modelRegistry(config).metricLabel(modelId)
}
