import type { AuthContext } from '../types'

/** What a turn is about to do, for the limit checks. */
export interface TurnRequest {
  auth: AuthContext
  modelId: string
  /** Null for a stateless turn (nothing stored). */
  conversationId: string | null
}

/** What a finished turn used, recorded once its outcome is stored. */
export interface UsageRecord {
  generationId: string
  userId: string
  apiKeyId: string | null
  conversationId: string | null
  modelId: string
  outcome: 'completed' | 'failed' | 'cancelled'
  inputTokens: number
  outputTokens: number
}

/**
 * Where budgets and rate limits plug into the turn engine: `checkLimits` runs before anything is stored and refuses a
 * turn by throwing an AppError (`rate_limited`, `forbidden`); `recordUsage` runs after the outcome is stored, before
 * it is announced (its failures are logged, never the turn's).
 */
export interface Governance {
  checkLimits(turn: TurnRequest): Promise<void>
  recordUsage(usage: UsageRecord): Promise<void>
}

export const noGovernance: Governance = {
  checkLimits: () => Promise.resolve(),
  recordUsage: () => Promise.resolve(),
}
