/**
 * What the limit checks of a request found, for its response headers (middleware/rate-limit-headers.ts): kept per
 * caller (the request's AuthContext, one object per request), so no handler has to carry it.
 */
import type { AuthContext } from '../types'

export interface RatePolicy {
  /** `workspace`, `member` or `apiKey`. */
  name: string
  /** Requests per window. */
  quota: number
  windowSeconds: number
  remaining: number
  resetSeconds: number
}

export interface TokenBudget {
  limit: number
  remaining: number
  resetSeconds: number
}

export interface RateLimitState {
  policies: RatePolicy[]
  /** The tightest token budget, for OpenAI's x-ratelimit-*-tokens. */
  tokens: TokenBudget | null
}

const states = new WeakMap<AuthContext, RateLimitState>()

export const recordRateLimitState = (auth: AuthContext, state: RateLimitState) => void states.set(auth, state)
export const rateLimitState = (auth: AuthContext | undefined): RateLimitState | undefined => (auth ? states.get(auth) : undefined)
