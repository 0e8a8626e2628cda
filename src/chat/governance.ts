import type { AuthContext } from '../types'

/** What a model call is about to do, for the limit checks. */
export interface TurnRequest {
  auth: AuthContext
  modelId: string
  /** Null for a stateless turn (nothing stored). */
  conversationId: string | null
  /** The workspace the call is billed to and limited in: the conversation's, else `usageWorkspace` (governance/). */
  workspaceId: string
  /**
   * What the checks hold (a concurrency slot, the spend of a running turn) is held for this id until `recordUsage`
   * of the same generation, or `releaseLimits`. Each step of a tool loop checks again with the same id.
   */
  generationId: string
  /** A model call that is no generation (a title): it takes no concurrency slot. */
  background?: boolean
}

/**
 * What a finished turn used, recorded once its outcome (and its ledger rows, in the same batch) is stored. Totals
 * over the turn's model calls; the ledger has one row per call.
 */
export interface UsageRecord {
  generationId: string
  /** Null when the turn did not say (the conversation's workspace is then looked up). */
  workspaceId: string | null
  userId: string
  apiKeyId: string | null
  conversationId: string | null
  modelId: string
  outcome: 'completed' | 'failed' | 'cancelled'
  inputTokens: number
  outputTokens: number
  cacheReadTokens: number
  cacheWriteTokens: number
  /** Tokens × the catalog's prices, in pico-dollars (1e-12 USD). */
  costPicoUsd: number
}

/**
 * Where budgets and rate limits plug into the turn engine: `checkLimits` runs before anything is stored and refuses a
 * turn by throwing an AppError (`rate_limited`, `quota_exceeded`); `releaseLimits` gives back what it held when the
 * turn then does not start; `recordUsage` runs after the outcome is stored, before it is announced (its failures are
 * logged, never the turn's), and ends what `checkLimits` held.
 */
export interface Governance {
  checkLimits(turn: TurnRequest): Promise<void>
  releaseLimits(turn: TurnRequest): Promise<void>
  recordUsage(usage: UsageRecord): Promise<void>
  /** The workspace's limits were just replaced: checks in this process use them from now on. */
  limitsChanged(workspaceId: string): void
}

export const noGovernance: Governance = {
  checkLimits: () => Promise.resolve(),
  releaseLimits: () => Promise.resolve(),
  recordUsage: () => Promise.resolve(),
  limitsChanged: () => {},
}
