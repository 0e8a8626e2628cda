/** What EdgeChat knows about a Bedrock model: sizes, capabilities and list prices. */
export interface ModelCapabilities {
  tools: boolean
  vision: boolean
  documents: boolean
  reasoning: boolean
  /** Structured output: Converse `outputConfig.textFormat` (a JSON Schema the answer follows). */
  structuredOutput: boolean
}

/** USD per million tokens; null where the model does not offer it (no prompt caching) or the price is unknown. */
export interface ModelPricing {
  inputPerMTok: number | null
  outputPerMTok: number | null
  cacheReadPerMTok: number | null
  cacheWritePerMTok: number | null
}

export interface ModelInfo {
  id: string
  name: string
  ownedBy: string
  /** Tokens the model reads (history, system prompt and answer); null when unknown. */
  contextWindow: number | null
  /** The most tokens one answer may have: a turn's maxTokens is capped to it. Null when unknown (no cap). */
  maxOutputTokens: number | null
  capabilities: ModelCapabilities
  pricing: ModelPricing
  /** When Bedrock made the model available (YYYY-MM-DD), approximate; OpenAI's `created`. */
  released: string | null
  /** The cross-region inference profiles Bedrock offers for it, as id prefixes (`us` for `us.<id>`). */
  profiles: string[]
}

/**
 * Prefixes of Bedrock's cross-region (system-defined) inference profiles. `<prefix>.<catalog id>` is the catalog
 * entry under its own id; Bedrock itself says whether that profile exists for the model.
 */
export const PROFILE_PREFIXES: readonly string[] = ['us', 'us-gov', 'eu', 'apac', 'jp', 'au', 'ca', 'global']

/** [input, output, cache read, cache write] in USD per million tokens. */
type Prices = [number, number, (number | null)?, (number | null)?]
/** id, name, context window, max output tokens, capabilities (t tools, v vision, d documents, r reasoning, s structured output), prices, profiles, released. */
type Row = [string, string, number, number, string, Prices, string, string]

/*
 * List prices of on-demand inference in us-east-1 (us-west-2 where the model is only there), as published by AWS
 * when this table was written: to be checked against the Bedrock pricing page, and overridden with MODEL_CATALOG
 * where they differ (regions, discounts, new prices). Nova bills cache writes as ordinary input; Claude charges a
 * premium for them. Context windows and output limits are Bedrock's, not necessarily the model vendor's.
 */
const ROWS: Row[] = [
  ['amazon.nova-micro-v1:0', 'Amazon Nova Micro', 128_000, 10_000, 't', [0.035, 0.14, 0.00875, 0.035], 'us eu apac', '2024-12-03'],
  ['amazon.nova-lite-v1:0', 'Amazon Nova Lite', 300_000, 10_000, 'tvd', [0.06, 0.24, 0.015, 0.06], 'us eu apac', '2024-12-03'],
  ['amazon.nova-pro-v1:0', 'Amazon Nova Pro', 300_000, 10_000, 'tvd', [0.8, 3.2, 0.2, 0.8], 'us eu apac', '2024-12-03'],
  ['amazon.nova-premier-v1:0', 'Amazon Nova Premier', 1_000_000, 32_000, 'tvd', [2.5, 12.5, 0.625, 2.5], 'us', '2025-04-30'],
  ['amazon.nova-2-lite-v1:0', 'Amazon Nova 2 Lite', 1_000_000, 64_000, 'tvdr', [0.3, 2.5, 0.075, 0.3], 'global us eu', '2025-12-02'],
  ['anthropic.claude-3-haiku-20240307-v1:0', 'Claude 3 Haiku', 200_000, 4_096, 'tvd', [0.25, 1.25], 'us eu apac', '2024-03-13'],
  ['anthropic.claude-3-5-haiku-20241022-v1:0', 'Claude 3.5 Haiku', 200_000, 8_192, 'td', [0.8, 4, 0.08, 1], 'us', '2024-11-04'],
  ['anthropic.claude-3-5-sonnet-20240620-v1:0', 'Claude 3.5 Sonnet', 200_000, 8_192, 'tvd', [3, 15], 'us eu apac', '2024-06-20'],
  ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'Claude 3.5 Sonnet v2', 200_000, 8_192, 'tvd', [3, 15, 0.3, 3.75], 'us apac', '2024-10-22'],
  ['anthropic.claude-3-7-sonnet-20250219-v1:0', 'Claude 3.7 Sonnet', 200_000, 64_000, 'tvdr', [3, 15, 0.3, 3.75], 'us eu apac', '2025-02-24'],
  ['anthropic.claude-sonnet-4-20250514-v1:0', 'Claude Sonnet 4', 200_000, 64_000, 'tvdr', [3, 15, 0.3, 3.75], 'us eu apac global', '2025-05-22'],
  ['anthropic.claude-opus-4-20250514-v1:0', 'Claude Opus 4', 200_000, 32_000, 'tvdr', [15, 75, 1.5, 18.75], 'us', '2025-05-22'],
  ['anthropic.claude-opus-4-1-20250805-v1:0', 'Claude Opus 4.1', 200_000, 32_000, 'tvdr', [15, 75, 1.5, 18.75], 'us', '2025-08-05'],
  ['anthropic.claude-sonnet-4-5-20250929-v1:0', 'Claude Sonnet 4.5', 200_000, 64_000, 'tvdrs', [3, 15, 0.3, 3.75], 'us eu apac jp au global', '2025-09-29'],
  ['anthropic.claude-haiku-4-5-20251001-v1:0', 'Claude Haiku 4.5', 200_000, 64_000, 'tvdrs', [1, 5, 0.1, 1.25], 'us eu apac jp au global', '2025-10-15'],
  ['anthropic.claude-opus-4-5-20251101-v1:0', 'Claude Opus 4.5', 200_000, 64_000, 'tvdrs', [5, 25, 0.5, 6.25], 'us eu global', '2025-11-24'],
  ['meta.llama3-8b-instruct-v1:0', 'Llama 3 8B Instruct', 8_192, 2_048, '', [0.3, 0.6], '', '2024-04-23'],
  ['meta.llama3-70b-instruct-v1:0', 'Llama 3 70B Instruct', 8_192, 2_048, '', [2.65, 3.5], '', '2024-04-23'],
  ['meta.llama3-1-8b-instruct-v1:0', 'Llama 3.1 8B Instruct', 128_000, 2_048, 't', [0.22, 0.22], 'us', '2024-07-23'],
  ['meta.llama3-1-70b-instruct-v1:0', 'Llama 3.1 70B Instruct', 128_000, 2_048, 't', [0.72, 0.72], 'us', '2024-07-23'],
  ['meta.llama3-1-405b-instruct-v1:0', 'Llama 3.1 405B Instruct', 128_000, 2_048, 't', [2.4, 2.4], '', '2024-07-23'],
  ['meta.llama3-2-1b-instruct-v1:0', 'Llama 3.2 1B Instruct', 128_000, 2_048, '', [0.1, 0.1], 'us eu', '2024-09-25'],
  ['meta.llama3-2-3b-instruct-v1:0', 'Llama 3.2 3B Instruct', 128_000, 2_048, '', [0.15, 0.15], 'us eu', '2024-09-25'],
  ['meta.llama3-2-11b-instruct-v1:0', 'Llama 3.2 11B Vision Instruct', 128_000, 2_048, 'tv', [0.16, 0.16], 'us', '2024-09-25'],
  ['meta.llama3-2-90b-instruct-v1:0', 'Llama 3.2 90B Vision Instruct', 128_000, 2_048, 'tv', [0.72, 0.72], 'us', '2024-09-25'],
  ['meta.llama3-3-70b-instruct-v1:0', 'Llama 3.3 70B Instruct', 128_000, 2_048, 't', [0.72, 0.72], 'us', '2024-12-19'],
  ['meta.llama4-scout-17b-instruct-v1:0', 'Llama 4 Scout 17B Instruct', 3_500_000, 8_192, 'tv', [0.17, 0.66], 'us', '2025-04-28'],
  ['meta.llama4-maverick-17b-instruct-v1:0', 'Llama 4 Maverick 17B Instruct', 1_000_000, 8_192, 'tv', [0.24, 0.97], 'us', '2025-04-28'],
  ['mistral.mistral-7b-instruct-v0:2', 'Mistral 7B Instruct', 32_000, 8_192, '', [0.15, 0.2], '', '2024-03-01'],
  ['mistral.mixtral-8x7b-instruct-v0:1', 'Mixtral 8x7B Instruct', 32_000, 4_096, '', [0.45, 0.7], '', '2024-03-01'],
  ['mistral.mistral-small-2402-v1:0', 'Mistral Small (24.02)', 32_000, 8_192, 't', [1, 3], '', '2024-05-23'],
  ['mistral.mistral-large-2402-v1:0', 'Mistral Large (24.02)', 32_000, 8_192, 't', [4, 12], '', '2024-04-02'],
  ['mistral.mistral-large-2407-v1:0', 'Mistral Large 2 (24.07)', 128_000, 8_192, 't', [2, 6], '', '2024-07-24'],
  ['mistral.pixtral-large-2502-v1:0', 'Pixtral Large (25.02)', 128_000, 8_192, 'tv', [2, 6], 'us eu', '2025-04-08'],
  ['cohere.command-r-v1:0', 'Command R', 128_000, 4_096, 't', [0.5, 1.5], '', '2024-04-30'],
  ['cohere.command-r-plus-v1:0', 'Command R+', 128_000, 4_096, 't', [3, 15], '', '2024-04-30'],
  ['deepseek.r1-v1:0', 'DeepSeek-R1', 128_000, 32_768, 'r', [1.35, 5.4], 'us', '2025-03-10'],
  ['deepseek.v3-v1:0', 'DeepSeek-V3.1', 163_840, 81_920, 'tr', [0.58, 1.68], '', '2025-09-18'],
  ['openai.gpt-oss-20b-1:0', 'gpt-oss-20b', 128_000, 128_000, 'tr', [0.07, 0.3], '', '2025-08-05'],
  ['openai.gpt-oss-120b-1:0', 'gpt-oss-120b', 128_000, 128_000, 'tr', [0.15, 0.6], '', '2025-08-05'],
]

/** Who makes a model, from its id (`anthropic.claude-…`, `us.anthropic.claude-…`); `bedrock` when it does not say. */
export function vendorOf(id: string): string {
  const [first, second] = id.split('.')
  const vendor = second !== undefined && PROFILE_PREFIXES.includes(first!) ? second : first
  return second !== undefined && vendor && /^[a-z][a-z0-9-]*$/.test(vendor) ? vendor : 'bedrock'
}

/** The built-in catalog, one entry per base model id. */
export const BUILT_IN_MODELS: readonly ModelInfo[] = ROWS.map(([id, name, contextWindow, maxOutputTokens, flags, prices, profiles, released]) => ({
  id,
  name,
  ownedBy: vendorOf(id),
  contextWindow,
  maxOutputTokens,
  capabilities: { tools: flags.includes('t'), vision: flags.includes('v'), documents: flags.includes('d'), reasoning: flags.includes('r'), structuredOutput: flags.includes('s') },
  pricing: { inputPerMTok: prices[0], outputPerMTok: prices[1], cacheReadPerMTok: prices[2] ?? null, cacheWritePerMTok: prices[3] ?? null },
  released,
  profiles: profiles ? profiles.split(' ') : [],
}))

/** An id the catalog has no data for (MODEL_IDS only, or a MODEL_CATALOG addition before its fields apply). */
export function unknownModel(id: string): ModelInfo {
  return {
    id,
    name: id,
    ownedBy: vendorOf(id),
    contextWindow: null,
    maxOutputTokens: null,
    capabilities: { tools: false, vision: false, documents: false, reasoning: false, structuredOutput: false },
    pricing: { inputPerMTok: null, outputPerMTok: null, cacheReadPerMTok: null, cacheWritePerMTok: null },
    released: null,
    profiles: [],
  }
}
