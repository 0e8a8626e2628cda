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
import { spentSince, subjectKey, type Subject } from './ledger'
import { periodOf, readLimits, type Limit, type WorkspaceLimits } from './limits'
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
/**
 * How long a process reuses a workspace's limits before reading them again: a change made through another process
 * applies within this (at once in the process that made it).
 */
const LIMITS_TTL_MS = 1_000
/** Bounds the per-process maps below (a process serving more is simply reading again). */
const MAX_REMEMBERED = 10_000

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

  const limitsCache = new Map<string, { limits: WorkspaceLimits; until: number }>()
  const limitsOf = async (workspaceId: string): Promise<WorkspaceLimits> => {
    const at = now().getTime()
    const cached = limitsCache.get(workspaceId)
    if (cached && cached.until > at) return cached.limits
    const limits = await readLimits(db, workspaceId)
    if (limitsCache.size >= MAX_REMEMBERED) limitsCache.clear()
    limitsCache.set(workspaceId, { limits, until: at + LIMITS_TTL_MS })
    return limits
  }
  // What each running generation's checks held against, so its release gives back exactly that, even if the
  // limits changed meanwhile (a generation finished by another process, say a Durable Object, reads them again).
  const heldBy = new Map<string, Limited[]>()

  const limitedSubjects = async (workspaceId: string, userId: string, apiKeyId: string | null): Promise<Limited[]> => {
    const { workspace, perMember, perApiKey } = await limitsOf(workspaceId)
    const all: [Limited['name'], Limit | null | undefined, Subject | null][] = [
      ['workspace', workspace, { kind: 'workspace', workspaceId }],
      ['member', perMember, { kind: 'member', workspaceId, userId }],
      ['apiKey', perApiKey, apiKeyId ? { kind: 'apiKey', apiKeyId } : null],
    ]
    return all.flatMap(([name, limit, subject]) => (limit && subject ? [{ name, limit, subject, id: subjectKey(subject) }] : []))
  }

  const holdKeys = ({ id, limit }: Limited) =>
    [limit.maxCostUsd && `${id}#cost`, limit.maxTokens && `${id}#tokens`, limit.maxConcurrentGenerations && `${id}#running`].filter((key): key is string => Boolean(key))

  const releaseAll = async (limited: readonly Limited[], holder: string) =>
    void (await Promise.all(limited.flatMap((each) => holdKeys(each).map((key) => counters.release(key, holder)))))

  async function check(turn: TurnRequest, limited: Limited[]): Promise<void> {
    const at = now().getTime()
    const holder = turn.generationId
    const window = Math.floor(at / MINUTE)
    const windowEnd = (window + 1) * MINUTE
    const maxOutput = inferenceFor(config, turn.modelId).maxTokens ?? config.DEFAULT_MAX_TOKENS
    const estimate = picoToMicroCeil(maxOutput * tokenPrices(config, turn.modelId).output)

    // Every counter at once (Redis sends them as one request), beside the ledger's sums (one query): requests in
    // this minute, and holds for this turn's spend and its concurrency slot, given back below if anything refuses it.
    const periods = limited.map((each) => periodOf(each.limit.period, new Date(at)))
    const budgeted = limited.flatMap((each, i) => (each.limit.maxCostUsd || each.limit.maxTokens ? [{ subject: each.subject, from: periods[i]!.start }] : []))
    const spending = spentSince(db, budgeted)
    const found = await Promise.all(
      limited.map(async (each, i) => {
        const { maxRequestsPerMinute, maxCostUsd, maxTokens, maxConcurrentGenerations } = each.limit
        const end = periods[i]!
        const budget = budgeted.findIndex((entry) => entry.subject === each.subject)
        const [requests, spent, heldCost, heldTokens, running] = await Promise.all([
          maxRequestsPerMinute ? counters.increment(`${each.id}#rpm:${window}`, 1, windowEnd - at + 1_000) : 0,
          budget >= 0 ? spending.then((all) => all[budget]!) : { costMicro: 0, tokens: 0 },
          maxCostUsd ? counters.hold(`${each.id}#cost`, holder, estimate, holdMs) : estimate,
          maxTokens ? counters.hold(`${each.id}#tokens`, holder, maxOutput, holdMs) : maxOutput,
          maxConcurrentGenerations && !turn.background ? counters.hold(`${each.id}#running`, holder, 1, holdMs) : 0,
        ])
        return { each, end: end.end.getTime(), requests, cost: spent.costMicro + heldCost - estimate, tokens: spent.tokens + heldTokens - maxOutput, running }
      }),
    )

    const state: RateLimitState = { policies: [], tokens: null }
    let refused: AppError | undefined
    for (const { each, requests } of found) {
      const quota = each.limit.maxRequestsPerMinute
      if (!quota) continue
      state.policies.push({ name: each.name, quota, windowSeconds: 60, remaining: Math.max(0, quota - requests), resetSeconds: seconds(windowEnd, at) })
      if (requests > quota) refused ??= refusal('rate_limited', `Rate limit of the ${each.name}: ${quota} requests per minute`, at, windowEnd)
    }
    // Budgets: spent (the ledger since the period began) plus what running turns hold, before this one.
    for (const { each, end, cost, tokens } of found) {
      const { maxCostUsd, maxTokens, period } = each.limit
      if (maxTokens && (!state.tokens || maxTokens - tokens < state.tokens.remaining)) {
        state.tokens = { limit: maxTokens, remaining: Math.max(0, maxTokens - tokens), resetSeconds: seconds(end, at) }
      }
      const spentOut = maxCostUsd && cost >= usdToMicro(maxCostUsd) ? `${maxCostUsd} USD` : maxTokens && tokens >= maxTokens ? `${maxTokens} tokens` : null
      if (spentOut) refused ??= refusal('quota_exceeded', `The ${each.name}'s budget of ${spentOut} per ${period} is spent`, at, end)
    }
    for (const { each, running } of found) {
      const max = each.limit.maxConcurrentGenerations
      if (max && !turn.background && running > max) refused ??= refusal('rate_limited', `The ${each.name} has ${max} generations running, its most`, at, at + 1_000)
    }
    recordRateLimitState(turn.auth, state)
    if (refused) {
      await releaseAll(limited, holder)
      throw refused
    }
  }

  /** What the generation's checks held against in this process, forgotten as it is given back. */
  const takeHeld = (generationId: string) => {
    const limited = heldBy.get(generationId)
    heldBy.delete(generationId)
    return limited
  }

  return {
    async checkLimits(turn) {
      const limited = heldBy.get(turn.generationId) ?? (await limitedSubjects(turn.workspaceId, turn.auth.userId, turn.auth.apiKeyId))
      if (limited.length > 0) await check(turn, limited)
      if (heldBy.size >= MAX_REMEMBERED) heldBy.clear()
      heldBy.set(turn.generationId, limited)
    },
    async releaseLimits(turn) {
      const limited = takeHeld(turn.generationId) ?? (await limitedSubjects(turn.workspaceId, turn.auth.userId, turn.auth.apiKeyId))
      await releaseAll(limited, turn.generationId)
    },
    limitsChanged(workspaceId) {
      limitsCache.delete(workspaceId)
    },
    async recordUsage(usage) {
      const model = { model: modelMetricLabel(config, usage.modelId) }
      options.metrics?.tokens.inc({ ...model, direction: 'cache_read' }, usage.cacheReadTokens)
      options.metrics?.tokens.inc({ ...model, direction: 'cache_write' }, usage.cacheWriteTokens)
      options.metrics?.cost.inc(model, usage.costPicoUsd / PICO_PER_USD)
      const remembered = takeHeld(usage.generationId)
      if (remembered) return releaseAll(remembered, usage.generationId)
      const workspaceId = usage.workspaceId ?? (usage.conversationId ? (await findConversation(db, usage.conversationId))?.workspaceId : undefined)
      if (!workspaceId) return
      await releaseAll(await limitedSubjects(workspaceId, usage.userId, usage.apiKeyId), usage.generationId)
    },
  }
}

