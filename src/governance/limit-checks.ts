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
import { periodOf, readLimits, type Limit } from './limits'
import { picoToMicroCeil, PICO_PER_USD, tokenPrices, usdToMicro } from './pricing'
import { recordRateLimitState, type RateLimitState } from './rate-limit-state'

export interface GovernanceOptions {
  db: Database
  config: Config
  counters: Counters
  now: () => Date
  metrics?: Metrics | undefined
}

interface Limited {
  /** The policy's name in headers and messages. */
  name: 'workspace' | 'member' | 'apiKey'
  limit: Limit
  subject: Subject
  /** The counters' subject. */
  id: string
}

const MINUTE = 60_000

/** The workspace a stateless call (Chat Completions) is billed to: the API key's workspace, else the caller's personal one. */
export async function usageWorkspace(db: Database, auth: AuthContext): Promise<string> {
  const id = auth.workspaceScope ?? (await findPersonalWorkspace(db, auth.userId))?.id
  if (!id) throw new AppError('forbidden', 'You have no personal workspace to bill this call to')
  return id
}

/** A 429 whose Retry-After and `resetAt` name `resetMs`. */
function refusal(code: 'rate_limited' | 'quota_exceeded', message: string, at: number, resetMs: number) {
  return new AppError(code, message, {
    headers: { 'Retry-After': String(seconds(resetMs, at)) },
    members: { resetAt: new Date(resetMs).toISOString() },
  })
}

const seconds = (end: number, at: number) => Math.max(1, Math.ceil((end - at) / 1000))

export function createGovernance(options: GovernanceOptions): Governance {
  const { db, config, counters, now } = options
  // A hold outlives the longest generation, so a crashed process's holds expire on their own.
  const holdMs = (config.GENERATION_MAX_SECONDS + 60) * 1000

  const limitedSubjects = async (workspaceId: string, userId: string, apiKeyId: string | null): Promise<Limited[]> => {
    const { workspace, perMember, perApiKey } = await readLimits(db, workspaceId)
    const all: (Limited | false | null | undefined | '')[] = [
      workspace && { name: 'workspace', limit: workspace, subject: { kind: 'workspace', workspaceId }, id: `ws:${workspaceId}` },
      perMember && { name: 'member', limit: perMember, subject: { kind: 'member', workspaceId, userId }, id: `member:${workspaceId}:${userId}` },
      perApiKey && apiKeyId && { name: 'apiKey', limit: perApiKey, subject: { kind: 'apiKey', apiKeyId }, id: `key:${apiKeyId}` },
    ]
    return all.filter((each): each is Limited => Boolean(each))
  }

  const holdKeys = ({ id, limit }: Limited) =>
    [limit.maxCostUsd && `${id}#cost`, limit.maxTokens && `${id}#tokens`, limit.maxConcurrentGenerations && `${id}#running`].filter((key): key is string => Boolean(key))

  const releaseAll = async (limited: readonly Limited[], holder: string) =>
    void (await Promise.all(limited.flatMap((each) => holdKeys(each).map((key) => counters.release(key, holder)))))

  async function check(turn: TurnRequest, limited: Limited[]): Promise<void> {
    const at = now().getTime()
    const holder = turn.generationId
    const state: RateLimitState = { policies: [], tokens: null }
    const refuse = async (error: AppError) => {
      recordRateLimitState(turn.auth, state)
      await releaseAll(limited, holder)
      throw error
    }

    // Requests per minute, counted in every subject before any is judged (each request counts once everywhere).
    const window = Math.floor(at / MINUTE)
    const windowEnd = (window + 1) * MINUTE
    const rated = limited.filter((each) => each.limit.maxRequestsPerMinute)
    const counts = await Promise.all(rated.map((each) => counters.increment(`${each.id}#rpm:${window}`, 1, windowEnd - at + 1_000)))
    let over: Limited | undefined
    rated.forEach((each, index) => {
      const quota = each.limit.maxRequestsPerMinute!
      if (counts[index]! > quota) over ??= each
      state.policies.push({ name: each.name, quota, windowSeconds: 60, remaining: Math.max(0, quota - counts[index]!), resetSeconds: seconds(windowEnd, at) })
    })
    if (over) return refuse(refusal('rate_limited', `Rate limit of the ${over.name}: ${over.limit.maxRequestsPerMinute} requests per minute`, at, windowEnd))

    // Budgets: the ledger since the period began, plus what running turns hold (each its model's largest answer).
    const maxOutput = inferenceFor(config, turn.modelId).maxTokens ?? config.DEFAULT_MAX_TOKENS
    const estimate = picoToMicroCeil(maxOutput * tokenPrices(config, turn.modelId).output)
    for (const each of limited) {
      const { maxCostUsd, maxTokens, period, maxConcurrentGenerations } = each.limit
      if (maxCostUsd || maxTokens) {
        const { start, end } = periodOf(period, new Date(at))
        const [spent, heldCost, heldTokens] = await Promise.all([
          spentSince(db, each.subject, start),
          maxCostUsd ? counters.hold(`${each.id}#cost`, holder, estimate, holdMs) : estimate,
          maxTokens ? counters.hold(`${each.id}#tokens`, holder, maxOutput, holdMs) : maxOutput,
        ])
        const tokensBefore = spent.tokens + heldTokens - maxOutput
        if (maxTokens && (!state.tokens || maxTokens - tokensBefore < state.tokens.remaining)) {
          state.tokens = { limit: maxTokens, remaining: Math.max(0, maxTokens - tokensBefore), resetSeconds: seconds(end.getTime(), at) }
        }
        const spentOut = maxCostUsd && spent.costMicro + heldCost - estimate >= usdToMicro(maxCostUsd) ? `${maxCostUsd} USD` : maxTokens && tokensBefore >= maxTokens ? `${maxTokens} tokens` : null
        if (spentOut) return refuse(refusal('quota_exceeded', `The ${each.name}'s budget of ${spentOut} per ${period} is spent`, at, end.getTime()))
      }
      // Concurrent generations.
      if (maxConcurrentGenerations && (await counters.hold(`${each.id}#running`, holder, 1, holdMs)) > maxConcurrentGenerations) {
        return refuse(refusal('rate_limited', `The ${each.name} has ${maxConcurrentGenerations} generations running, its most`, at, at + 1_000))
      }
    }
    recordRateLimitState(turn.auth, state)
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

