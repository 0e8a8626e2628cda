import { AppError, errorStatus, type ErrorCode } from '../errors'
import { eventStreamBody } from './sse'
import type { SequencedEvent, Usage } from '../stream/events'
import type { CollectedTurn } from './collect-turn'
import { openAIError } from './openai-errors'

/** OpenAI Chat Completions over our events: the streamed `chat.completion.chunk`s and the whole `chat.completion`. */
export const CHAT_COMPLETION_STREAM_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter'

const FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  content_filtered: 'content_filter',
  guardrail_intervened: 'content_filter',
}

export const finishReasonOf = (stopReason: string): FinishReason => FINISH_REASONS[stopReason] ?? 'stop'

/** `chatcmpl-` and the generation id's own part, so an answer can be found in the logs. */
export const completionId = (generationId: string) => `chatcmpl-${generationId.replace(/^gen_/, '')}`

export const usageOf = (usage: Usage | null) => {
  const prompt = usage?.inputTokens ?? 0
  const completion = usage?.outputTokens ?? 0
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}

/** A failed turn's code as the HTTP error it is when nothing was sent yet (429 for a throttled model, …). */
export function turnFailure(code: string, message: string): AppError {
  return new AppError(code in errorStatus ? (code as ErrorCode) : 'upstream_error', message)
}

const streamError = (code: string, message: string) => {
  const status = code in errorStatus ? errorStatus[code as ErrorCode] : 502
  return openAIError({ status, code, message })
}

export interface ChunkOptions {
  /** The model id the request named. */
  model: string
  /** Unix seconds. */
  created: number
  /** `stream_options.include_usage`: `usage: null` on every chunk, and a last `choices: []` chunk with the usage. */
  includeUsage: boolean
}

const DONE = 'data: [DONE]\n\n'

/**
 * A stateful encoder for one turn's event batches: each call returns one batch's `data:` lines as one string. The first
 * chunk carries `role: assistant`; a tool call (ours arrive whole) is a chunk naming it, then one with its arguments;
 * the end is a chunk with the finish reason (then the usage chunk) and `[DONE]`. A failure ends the stream with a
 * `data: {"error": …}` chunk, which OpenAI's clients throw, never a clean finish.
 */
export function createChatCompletionEncoder(options: ChunkOptions): (events: readonly SequencedEvent[]) => string {
  let id = 'chatcmpl-'
  let toolCalls = 0
  let started = false
  let out = ''
  const base = () => ({ id, object: 'chat.completion.chunk', created: options.created, model: options.model, system_fingerprint: null })
  const chunk = (delta: Record<string, unknown>, finishReason: FinishReason | null = null) => {
    const value = { ...base(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...(options.includeUsage ? { usage: null } : {}) }
    out += `data: ${JSON.stringify(value)}\n\n`
  }
  const error = (code: string, message: string) => {
    out += `data: ${JSON.stringify(streamError(code, message))}\n\n`
  }

  return (events) => {
    out = ''
    for (const event of events) {
      switch (event.type) {
        case 'generation.started':
          id = completionId(event.data.generationId)
          if (!started) chunk({ role: 'assistant', content: '' })
          started = true
          break
        case 'text.delta':
          chunk({ content: event.data.delta })
          break
        case 'reasoning.delta':
          chunk({ reasoning_content: event.data.delta })
          break
        case 'tool.call': {
          const index = toolCalls++
          chunk({ tool_calls: [{ index, id: event.data.toolUseId, type: 'function', function: { name: event.data.name, arguments: '' } }] })
          chunk({ tool_calls: [{ index, function: { arguments: JSON.stringify(event.data.input ?? {}) } }] })
          break
        }
        case 'tool.result':
        case 'usage':
          break
        case 'generation.completed':
          chunk({}, finishReasonOf(event.data.stopReason))
          if (options.includeUsage) out += `data: ${JSON.stringify({ ...base(), choices: [], usage: usageOf(event.data.usage) })}\n\n`
          out += DONE
          break
        case 'generation.failed':
          error(event.data.code, event.data.message)
          break
        case 'generation.cancelled':
          error('cancelled', 'The generation was cancelled')
          break
      }
    }
    return out
  }
}


/** Streams event batches as chunks (with pings while idle); a client that goes away aborts the model call. */
export function chatCompletionStream(batches: AsyncIterable<SequencedEvent[]>, options: ChunkOptions, pingMs = 15_000): ReadableStream<Uint8Array> {
  return eventStreamBody(batches, createChatCompletionEncoder(options), pingMs)
}

/** The whole answer as a `chat.completion`; a turn that did not complete is the HTTP error it ended with. */
export function chatCompletionOf(turn: CollectedTurn, options: Omit<ChunkOptions, 'includeUsage'>) {
  const ending = turn.ending
  if (ending?.type === 'failed') throw turnFailure(ending.code, ending.message)
  if (ending?.type !== 'completed') throw new AppError('internal', 'The generation ended without an answer')
  const toolCalls = turn.toolCalls.map((call) => ({
    id: call.toolUseId,
    type: 'function' as const,
    function: { name: call.name, arguments: JSON.stringify(call.input ?? {}) },
  }))
  return {
    id: completionId(turn.generationId ?? ''),
    object: 'chat.completion' as const,
    created: options.created,
    model: options.model,
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant' as const,
          content: turn.text === '' && toolCalls.length > 0 ? null : turn.text,
          refusal: null,
          ...(turn.reasoning ? { reasoning_content: turn.reasoning } : {}),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReasonOf(ending.stopReason),
      },
    ],
    usage: usageOf(turn.usage),
  }
}
