import type { ModelUsage } from '../models/model-client'
import type { AuthContext, Services } from '../types'
import { usageEntry, writeLedger } from './ledger'

export interface MeteredCall {
  auth: AuthContext
  /** Billed and limited here (a conversation's workspace, or `usageWorkspace(db, auth)`). */
  workspaceId: string
  conversationId: string | null
  modelId: string
}

/**
 * A model call outside a generation (a conversation's title, say), governed like a turn's: the caller's limits are
 * checked first (a refusal throws its AppError, `quota_exceeded` or `rate_limited`, and `call` never runs), then
 * `call` runs and reports its usage (it takes no concurrency slot: it is no generation), which becomes one ledger row (no generation) and a usage record. A call that
 * throws gives back what the check held and records nothing.
 */
export async function meteredModelCall<T>(services: Services, who: MeteredCall, call: () => Promise<{ result: T; usage: ModelUsage | null }>): Promise<T> {
  const { auth, workspaceId, conversationId, modelId } = who
  const id = services.newId('use')
  const turn = { auth, modelId, conversationId, workspaceId, generationId: id, background: true }
  await services.governance.checkLimits(turn)
  let outcome: { result: T; usage: ModelUsage | null }
  try {
    outcome = await call()
  } catch (error) {
    await services.governance.releaseLimits(turn)
    throw error
  }
  const { usage } = outcome
  const account = { workspaceId, userId: auth.userId, apiKeyId: auth.apiKeyId, conversationId }
  const entry = usage ? usageEntry(services.config, { id, ...account, generationId: null, step: 0, modelId, usage, at: services.now() }) : null
  if (entry) await writeLedger(services.db, [entry])
  await services.governance.recordUsage({
    ...account,
    generationId: id,
    modelId,
    outcome: 'completed',
    inputTokens: entry?.inputTokens ?? 0,
    outputTokens: entry?.outputTokens ?? 0,
    cacheReadTokens: entry?.cacheReadTokens ?? 0,
    cacheWriteTokens: entry?.cacheWriteTokens ?? 0,
    costPicoUsd: entry?.costPicoUsd ?? 0,
  })
  return outcome.result
}
