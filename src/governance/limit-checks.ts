/**
 * The governance behind the turn engine's hooks: a workspace's limits (per workspace, per member, per API key)
 * checked before every model call, with counters shared across processes (memory, Redis, a Durable Object) and
 * budgets read from the ledger (SQL) plus what running turns hold, so they survive restarts.
 *
 * - Requests per minute: a fixed one-minute window per subject; over it → 429 `rate_limited`.
 * - Budgets (cost, tokens) per calendar period (UTC): spent (the ledger since the period began) plus what running
 *   turns hold (each holds its model's largest answer until its usage is recorded); when that reaches the budget →
 *   429 `quota_exceeded` with `resetAt` (the period's end). A turn admitted under budget may end over it.
 * - Concurrent generations: a hold per running generation; over the limit → 429 `rate_limited`.
 * A refusal gives back everything the check held; nothing of the refused turn is stored.
 */
import type { Governance, TurnRequest, UsageRecord } from '../chat/governance'
import type { Config } from '../config'
import type { Database } from '../db/database'
import { findConversation } from '../db/repositories/conversations'
import { findPersonalWorkspace } from '../db/repositories/workspaces'
import { AppError } from '../errors'
import type { Metrics } from '../metrics/registry'
import { inferenceFor, modelMetricLabel } from '../models/resolve'
import type { AuthContext } from '../types'
import type { Counters } from './counters'
import { spentSince, type Subject } from './ledger'
import { periodOf, readLimits, type Limit, type LimitScope } from './limits'
import { picoToMicroCeil, PICO_PER_USD, tokenPrices, usdToMicro } from './pricing'
import { recordRateLimitState, type RatePolicy, type TokenBudget } from './rate-limit-state'

export interface GovernanceOptions {
  db: Database
  config: Config
  counters: Counters
  now: () => Date
  metrics?: Metrics | undefined
}

interface Limited {
  /** The policy's name in headers. */
  name: 'workspace' | 'member' | 'apiKey'
  limit: Limit
  subject: Subject
  /** The counters' subject. */
  id: string
}

const MINUTE = 60_000
const POLICY_NAMES: Record<LimitScope, Limited['name']> = { workspace: 'workspace', perMember: 'member', perApiKey: 'apiKey' }

/** The workspace a stateless call (Chat Completions) is billed to: the API key's workspace, else the caller's personal one. */
export async function usageWorkspace(db: Database, auth: AuthContext): Promise<string> {
  if (auth.workspaceScope) return auth.workspaceScope
  const personal = await findPersonalWorkspace(db, auth.userId)
  if (!personal) throw new AppError('forbidden', 'You have no personal workspace to bill this call to')
  return personal.id
}

const secondsUntil = (end: number, at: number) => Math.max(1, Math.ceil((end - at) / 1000))

export function createGovernance(options: GovernanceOptions): Governance {
  const { db, config, counters, now } = options
  // A hold outlives the longest generation, so a crashed process's holds expire on their own.
  const holdMs = (config.GENERATION_MAX_SECONDS + 60) * 1000

  const limitedSubjects = async (workspaceId: string, userId: string, apiKeyId: string | null): Promise<Limited[]> => {
    const limits = await readLimits(db, workspaceId)
    const limited: Limited[] = []
    if (limits.workspace) limited.push({ name: POLICY_NAMES.workspace, limit: limits.workspace, subject: { kind: 'workspace', workspaceId }, id: `ws:${workspaceId}` })
    if (limits.perMember) limited.push({ name: POLICY_NAMES.perMember, limit: limits.perMember, subject: { kind: 'member', workspaceId, userId }, id: `member:${workspaceId}:${userId}` })
    if (limits.perApiKey && apiKeyId) limited.push({ name: POLICY_NAMES.perApiKey, limit: limits.perApiKey, subject: { kind: 'apiKey', apiKeyId }, id: `key:${apiKeyId}` })
    return limited
  }

  const holdKeys = (limited: Limited) => [
    ...(limited.limit.maxCostUsd ? [`${limited.id}#cost`] : []),
    ...(limited.limit.maxTokens ? [`${limited.id}#tokens`] : []),
    ...(limited.limit.maxConcurrentGenerations ? [`${limited.id}#running`] : []),
  ]

  const releaseAll = (limited: readonly Limited[], holder: string) =>
    Promise.all(limited.flatMap((each) => holdKeys(each).map((key) => counters.release(key, holder)))).then(() => undefined)

  async function check(turn: TurnRequest, limited: Limited[]): Promise<void> {
    const at = now().getTime()
    const policies: RatePolicy[] = []
    let tokens: TokenBudget | null = null
    const refuse = async (error: AppError) => {
      recordRateLimitState(turn.auth, { policies, tokens })
      await releaseAll(limited, turn.generationId)
      throw error
    }

    // Requests per minute, counted in every subject before any is judged (each request counts once everywhere).
    const window = Math.floor(at / MINUTE)
    const windowEnd = (window + 1) * MINUTE
    const rated = limited.filter((each) => each.limit.maxRequestsPerMinute)
    const counts = await Promise.all(rated.map((each) => counters.increment(`${each.id}#rpm:${window}`, 1, windowEnd - at + 1_000)))
    rated.forEach((each, index) => {
      const quota = each.limit.maxRequestsPerMinute!
      policies.push({ name: each.name, quota, windowSeconds: 60, remaining: Math.max(0, quota - counts[index]!), resetSeconds: secondsUntil(windowEnd, at) })
    })
    const overRate = rated.findIndex((each, index) => counts[index]! > each.limit.maxRequestsPerMinute!)
    if (overRate >= 0) {
      const retryAfter = secondsUntil(windowEnd, at)
      return refuse(
        new AppError('rate_limited', `Rate limit reached (${rated[overRate]!.name}): at most ${rated[overRate]!.limit.maxRequestsPerMinute} requests per minute`, {
          headers: { 'Retry-After': String(retryAfter) },
          members: { resetAt: new Date(windowEnd).toISOString() },
        }),
      )
    }

    // Budgets: the ledger since the period began, plus what running turns hold.
    const maxOutput = inferenceFor(config, turn.modelId).maxTokens ?? config.DEFAULT_MAX_TOKENS
    const outputPrice = tokenPrices(config, turn.modelId).output
    const estimateMicro = picoToMicroCeil(maxOutput * outputPrice)
    for (const each of limited) {
      const { maxCostUsd, maxTokens, period } = each.limit
      if (!maxCostUsd && !maxTokens) continue
      const { start, end } = periodOf(period, new Date(at))
      const [spent, heldCost, heldTokens] = await Promise.all([
        spentSince(db, each.subject, start),
        maxCostUsd ? counters.hold(`${each.id}#cost`, turn.generationId, estimateMicro, holdMs) : 0,
        maxTokens ? counters.hold(`${each.id}#tokens`, turn.generationId, maxOutput, holdMs) : 0,
      ])
      const costBefore = spent.costMicro + (maxCostUsd ? heldCost - estimateMicro : 0)
      const tokensBefore = spent.tokens + (maxTokens ? heldTokens - maxOutput : 0)
      if (maxTokens && (!tokens || maxTokens - tokensBefore < tokens.remaining)) {
        tokens = { limit: maxTokens, remaining: Math.max(0, maxTokens - tokensBefore), resetSeconds: secondsUntil(end.getTime(), at) }
      }
      const overCost = maxCostUsd !== undefined && costBefore >= usdToMicro(maxCostUsd)
      const overTokens = maxTokens !== undefined && tokensBefore >= maxTokens
      if (overCost || overTokens) {
        const what = overCost ? `cost budget of ${maxCostUsd} USD` : `budget of ${maxTokens} tokens`
        return refuse(
          new AppError('quota_exceeded', `The ${each.name === 'apiKey' ? 'API key' : each.name}'s ${what} per ${period} is spent; it refills at ${end.toISOString()}`, {
            headers: { 'Retry-After': String(secondsUntil(end.getTime(), at)) },
            members: { resetAt: end.toISOString() },
          }),
        )
      }
    }

    // Concurrent generations.
    for (const each of limited) {
      const max = each.limit.maxConcurrentGenerations
      if (!max) continue
      const running = await counters.hold(`${each.id}#running`, turn.generationId, 1, holdMs)
      if (running > max) {
        return refuse(
          new AppError('rate_limited', `Too many generations running (${each.name}): at most ${max} at once`, {
            headers: { 'Retry-After': '1' },
            members: { resetAt: new Date(at + 1_000).toISOString() },
          }),
        )
      }
    }
    recordRateLimitState(turn.auth, { policies, tokens })
  }

  return {
    async checkLimits(turn) {
      const limited = await limitedSubjects(turn.workspaceId, turn.auth.userId, turn.auth.apiKeyId)
      if (limited.length > 0) await check(turn, limited)
    },
    async releaseLimits(turn) {
      await releaseAll(await limitedSubjects(turn.workspaceId, turn.auth.userId, turn.auth.apiKeyId), turn.generationId)
    },
    async recordUsage(usage) {
      const model = { model: modelMetricLabel(config, usage.modelId) }
      options.metrics?.tokens.inc({ ...model, direction: 'cache_read' }, usage.cacheReadTokens)
      options.metrics?.tokens.inc({ ...model, direction: 'cache_write' }, usage.cacheWriteTokens)
      options.metrics?.cost.inc(model, usage.costPicoUsd / PICO_PER_USD)
      const workspaceId = usage.workspaceId ?? (usage.conversationId ? (await findConversation(db, usage.conversationId))?.workspaceId : undefined)
      if (!workspaceId) return
      await releaseAll(await limitedSubjects(workspaceId, usage.userId, usage.apiKeyId), usage.generationId)
    },
  }
}

