import type { Part } from '../chat/parts'
import type { ErrorCode } from '../errors'

/** Sampling settings a turn may set; each provider maps them to its own names. */
export interface InferenceConfig {
  maxTokens?: number
  temperature?: number
  topP?: number
  stopSequences?: string[]
}

export interface ModelMessage {
  role: 'user' | 'assistant'
  parts: readonly Part[]
  /** A stored message's status: the provider mapping leaves out failed or cancelled answers without content. */
  status: string
}

/** One model call, in our own shapes: the provider maps it to its wire request. */
export interface ModelRequest {
  modelId: string
  system: string | null
  /** Oldest first; media parts carry their bytes. */
  messages: readonly ModelMessage[]
  inference: InferenceConfig
  /** Tools the model may call (their JSON Schema input); none when absent. */
  tools?: readonly ToolDefinition[] | undefined
  /** How the model picks among `tools`: `auto` by default, `any` (must call one), or the named tool. */
  toolChoice?: ToolChoice | undefined
  /** Structured output: the answer's text is JSON valid against this schema (only for models whose catalog says so). */
  textFormat?: TextFormat | undefined
}

export interface TextFormat {
  type: 'json_schema'
  name: string
  description?: string | undefined
  /** A JSON Schema object. */
  schema: unknown
}

export interface ToolDefinition {
  name: string
  description?: string | undefined
  inputSchema: unknown
}

export type ToolChoice = { type: 'auto' } | { type: 'any' } | { type: 'tool'; name: string }

export interface ModelUsage {
  inputTokens: number
  outputTokens: number
  /** Prompt-cache tokens, when the provider reports them (billed at their own prices). */
  cacheReadTokens?: number | undefined
  cacheWriteTokens?: number | undefined
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'guardrail_intervened' | 'content_filtered' | (string & {})

/**
 * What a model call yields, in order. `index` numbers the content blocks of the answer (a text, a reasoning, a
 * tool call); parts of one block share it.
 */
export type ModelPart =
  | { type: 'textDelta'; index: number; text: string }
  | { type: 'reasoningDelta'; index: number; text?: string | undefined; signature?: string | undefined }
  | { type: 'toolCallStart'; index: number; toolCallId: string; name: string }
  | { type: 'toolCallDelta'; index: number; input: string }
  | { type: 'blockEnd'; index: number }
  | { type: 'stop'; reason: StopReason }
  | { type: 'usage'; usage: ModelUsage }

export type ModelErrorCode = Extract<ErrorCode, 'rate_limited' | 'validation_failed' | 'upstream_timeout' | 'upstream_error'>

/**
 * The one error a model call throws (besides an AbortError when its signal aborts). `message` is safe to show to
 * the caller; the provider's own wording, which can name accounts and resources, is in `log` only.
 */
export class ModelError extends Error {
  override readonly name = 'ModelError'
  readonly code: ModelErrorCode
  readonly retryable: boolean
  readonly status: number | undefined
  /** Fields for the server log (provider request id, error type, its own message, attempts). */
  readonly log: Readonly<Record<string, unknown>>

  constructor(init: { code: ModelErrorCode; message: string; retryable: boolean; status?: number | undefined; log?: Record<string, unknown>; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause })
    this.code = init.code
    this.retryable = init.retryable
    this.status = init.status
    this.log = init.log ?? {}
  }
}

/** A provider-neutral model client: Bedrock Converse is the first implementation (src/bedrock/bedrock-models.ts). */
export interface ModelClient {
  /**
   * Resolves once the provider has answered (errors before the answer reject here, after the provider's retries),
   * then yields the answer in batches: one per network chunk, so a consumer handles a chunk's parts with one await.
   * A batch may be empty (the chunk held nothing but framing): it still shows the answer is flowing. Throws
   * ModelError, or an AbortError once `signal` aborts; breaking out of the loop ends the call.
   */
  stream(request: ModelRequest, options: { signal: AbortSignal }): Promise<AsyncIterable<ModelPart[]>>
}
