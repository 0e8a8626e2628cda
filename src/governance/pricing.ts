/**
 * Prices in integers: a catalog price in USD per million tokens is pico-dollars (1e-12 USD) per token, exactly for
 * any price with up to six decimals (what a price list carries), so a call's cost is tokens × price with no float
 * drift. Sums stay exact in SQL (integers) and are shown in USD only at the edge.
 */
import { modelRegistry, type ModelConfig } from '../models/registry'

export interface TokenCounts {
  inputTokens: number
  outputTokens: number
  cacheReadTokens: number
  cacheWriteTokens: number
}

/** Pico-dollars per token for each kind of token (0 where the catalog has no price). */
export interface TokenPrices {
  input: number
  output: number
  cacheRead: number
  cacheWrite: number
}

export const PICO_PER_USD = 1_000_000_000_000
const PICO_PER_MICRO = 1_000_000

/** USD per million tokens → pico-dollars per token (rounded to the sixth decimal of the USD price). */
export const picoPerToken = (usdPerMTok: number | null | undefined): number => (usdPerMTok ? Math.round(usdPerMTok * PICO_PER_MICRO) : 0)

export function tokenPrices(config: ModelConfig, modelId: string): TokenPrices {
  const pricing = modelRegistry(config).find(modelId)?.pricing
  return {
    input: picoPerToken(pricing?.inputPerMTok),
    output: picoPerToken(pricing?.outputPerMTok),
    cacheRead: picoPerToken(pricing?.cacheReadPerMTok),
    cacheWrite: picoPerToken(pricing?.cacheWritePerMTok),
  }
}

export const costPico = (tokens: TokenCounts, prices: TokenPrices): number =>
  tokens.inputTokens * prices.input + tokens.outputTokens * prices.output + tokens.cacheReadTokens * prices.cacheRead + tokens.cacheWriteTokens * prices.cacheWrite

/** Pico-dollars as USD for JSON (a display value: the exact figure is the integer). */
export const picoToUsd = (pico: number): number => Number((pico / PICO_PER_USD).toFixed(12))

/** USD (a limit an admin sets, at most six decimals) → micro-dollars, the unit budgets are compared in. */
export const usdToMicro = (usd: number): number => Math.round(usd * PICO_PER_MICRO)

export const microToUsd = (micro: number): number => Number((micro / PICO_PER_MICRO).toFixed(6))

/** Pico-dollars as micro-dollars, rounded up (what a budget counts). */
export const picoToMicroCeil = (pico: number): number => Math.ceil(pico / PICO_PER_MICRO)
