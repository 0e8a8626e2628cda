/** Bedrock Converse wire shapes we send and receive. */
import type { InferenceConfig } from '../models/model-client'

export type { InferenceConfig }

export type ConverseContentBlock =
  | { text: string }
  | { image: { format: string; source: { bytes: string } } }
  | { document: { format: string; name: string; source: { bytes: string } } }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { toolResult: { toolUseId: string; content: ({ text: string } | { json: unknown })[]; status?: 'success' | 'error' } }
  | { reasoningContent: { reasoningText: { text: string; signature?: string } } }

export interface ConverseMessage {
  role: 'user' | 'assistant'
  content: ConverseContentBlock[]
}

export interface ConverseRequest {
  modelId: string
  messages: ConverseMessage[]
  system?: { text: string }[]
  inferenceConfig?: InferenceConfig
  toolConfig?: {
    tools: { toolSpec: { name: string; description?: string; inputSchema: { json: unknown } } }[]
    toolChoice?: { auto: Record<string, never> } | { any: Record<string, never> } | { tool: { name: string } }
  }
  outputConfig?: { textFormat: { type: 'json_schema'; structure: { jsonSchema: { schema: string; name?: string; description?: string } } } }
}

export interface TokenUsage {
  inputTokens: number
  outputTokens: number
  totalTokens?: number
  cacheReadInputTokens?: number
  cacheWriteInputTokens?: number
}

export type StopReason =
  | 'end_turn'
  | 'tool_use'
  | 'max_tokens'
  | 'stop_sequence'
  | 'guardrail_intervened'
  | 'content_filtered'
  | (string & {})

export interface ConverseResponse {
  output: { message: ConverseMessage }
  stopReason: StopReason
  usage: TokenUsage
  metrics: { latencyMs: number }
}

/** ConverseStream events, decoded and validated, as a discriminated union. */
export type ConverseStreamEvent =
  | { type: 'messageStart'; role: 'assistant' }
  | { type: 'contentBlockStart'; index: number; toolUse?: { toolUseId: string; name: string } }
  | { type: 'textDelta'; index: number; text: string }
  | { type: 'toolUseDelta'; index: number; input: string }
  | { type: 'reasoningDelta'; index: number; text?: string; signature?: string }
  | { type: 'contentBlockStop'; index: number }
  | { type: 'messageStop'; stopReason: StopReason }
  | { type: 'metadata'; usage: TokenUsage; metrics: { latencyMs: number } }

export interface CallOptions {
  signal?: AbortSignal
}

/**
 * A ConverseStream answer: its events one by one, and, when the source knows how the events arrived, `batches()`
 * (one array per network chunk). Use one or the other.
 */
export type ConverseStreamEvents = AsyncIterable<ConverseStreamEvent> & { batches?(): AsyncIterable<ConverseStreamEvent[]> }

/**
 * Bedrock Converse over HTTP: the real client signs fetch; tests may point it at the emulator or wrap it. The rest of
 * the app sees it only as a ModelClient (bedrock-models.ts).
 */
export interface BedrockClient {
  converse(request: ConverseRequest, options?: CallOptions): Promise<ConverseResponse>
  /**
   * Resolves once the HTTP response has started (pre-stream errors reject here, after retries);
   * the iterable then yields events and throws a BedrockError on a mid-stream exception or truncation.
   */
  converseStream(request: ConverseRequest, options?: CallOptions): Promise<ConverseStreamEvents>
}
