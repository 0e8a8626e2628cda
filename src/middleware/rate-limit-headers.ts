import { createMiddleware } from 'hono/factory'
import { rateLimitState, type RatePolicy } from '../governance/rate-limit-state'
import { OPENAI_COMPATIBLE_PATH } from '../protocols/openai-errors'
import type { AppEnv } from '../types'

/** OpenAI's duration format in x-ratelimit-reset-*: `1s`, `6m0s`, `2h0m5s`. */
export function openAIDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`
}

const tightest = (policies: readonly RatePolicy[]) => policies.reduce<RatePolicy | undefined>((best, policy) => (!best || policy.remaining < best.remaining ? policy : best), undefined)

/**
 * Responses to limited routes carry the limits the caller's request was checked against: `RateLimit-Policy` and
 * `RateLimit` (the IETF httpapi draft's structured fields, one item per requests-per-minute policy), and on the
 * OpenAI-compatible routes OpenAI's `x-ratelimit-*` (the tightest policy, and the tightest token budget). Nothing is
 * added when no limit applied.
 */
export const rateLimitHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next()
  const state = rateLimitState(c.get('auth'))
  if (!state) return
  const headers = c.res.headers
  if (state.policies.length > 0) {
    headers.set('RateLimit-Policy', state.policies.map((policy) => `"${policy.name}";q=${policy.quota};w=${policy.windowSeconds}`).join(', '))
    headers.set('RateLimit', state.policies.map((policy) => `"${policy.name}";r=${policy.remaining};t=${policy.resetSeconds}`).join(', '))
  }
  if (!OPENAI_COMPATIBLE_PATH.test(c.req.path)) return
  const policy = tightest(state.policies)
  if (policy) {
    headers.set('x-ratelimit-limit-requests', String(policy.quota))
    headers.set('x-ratelimit-remaining-requests', String(policy.remaining))
    headers.set('x-ratelimit-reset-requests', openAIDuration(policy.resetSeconds))
  }
  if (state.tokens) {
    headers.set('x-ratelimit-limit-tokens', String(state.tokens.limit))
    headers.set('x-ratelimit-remaining-tokens', String(state.tokens.remaining))
    headers.set('x-ratelimit-reset-tokens', openAIDuration(state.tokens.resetSeconds))
  }
})
