import { abortError } from './abort'
import { BedrockError, bedrockErrorFromException } from './bedrock-error'
import type { ChunkReader } from './chunk-reader'
import { EventStreamDecodeError, EventStreamFrameDecoder } from './event-stream-decoder'
import type { EventStreamMessage } from './event-stream-message'
import type { ConverseStreamEvent, ConverseStreamEvents, TokenUsage } from './types'

const utf8 = new TextDecoder()

type Json = Record<string, unknown>

/**
 * One decoded frame → a typed event; `undefined` for events we do not use. Exception and error
 * frames throw a BedrockError. Unknown payload fields (such as the padding `p`) are ignored.
 */
export function toConverseStreamEvent(message: EventStreamMessage): ConverseStreamEvent | undefined {
  const headers = message.headers
  const messageType = headers[':message-type']
  if (messageType === 'event') return eventFromPayload(headers[':event-type'], message.payload)
  if (messageType === 'exception') {
    throw bedrockErrorFromException(String(headers[':exception-type'] ?? 'unknownException'), utf8.decode(message.payload))
  }
  if (messageType === 'error') {
    throw new BedrockError({
      type: String(headers[':error-code'] ?? 'UnknownError'),
      message: String(headers[':error-message'] ?? 'event stream error'),
      retryable: false,
    })
  }
  return undefined
}

function eventFromPayload(eventType: unknown, payload: Uint8Array): ConverseStreamEvent | undefined {
  switch (eventType) {
    case 'contentBlockDelta': {
      const body = parse(payload)
      const index = integer(body.contentBlockIndex)
      const delta = object(body.delta)
      if (typeof delta.text === 'string') return { type: 'textDelta', index, text: delta.text }
      if (delta.toolUse !== undefined) return { type: 'toolUseDelta', index, input: string(object(delta.toolUse).input) }
      if (delta.reasoningContent !== undefined) {
        const reasoning = object(delta.reasoningContent)
        const text = typeof reasoning.text === 'string' ? reasoning.text : undefined
        const signature = typeof reasoning.signature === 'string' ? reasoning.signature : undefined
        if (text === undefined && signature === undefined) return undefined
        return { type: 'reasoningDelta', index, text, signature }
      }
      return undefined
    }
    case 'contentBlockStart': {
      const body = parse(payload)
      const index = integer(body.contentBlockIndex)
      const toolUse = body.start !== undefined ? object(body.start).toolUse : undefined
      if (toolUse === undefined) return { type: 'contentBlockStart', index }
      const tool = object(toolUse)
      return { type: 'contentBlockStart', index, toolUse: { toolUseId: string(tool.toolUseId), name: string(tool.name) } }
    }
    case 'contentBlockStop':
      return { type: 'contentBlockStop', index: integer(parse(payload).contentBlockIndex) }
    case 'messageStart': {
      const role = parse(payload).role
      if (role !== 'assistant') throw invalid(`unexpected role ${String(role)}`)
      return { type: 'messageStart', role }
    }
    case 'messageStop':
      return { type: 'messageStop', stopReason: string(parse(payload).stopReason) }
    case 'metadata': {
      const body = parse(payload)
      return {
        type: 'metadata',
        usage: toUsage(object(body.usage)),
        metrics: { latencyMs: body.metrics === undefined ? 0 : number(object(body.metrics).latencyMs) },
      }
    }
    default:
      return undefined
  }
}

function toUsage(usage: Json): TokenUsage {
  const result: TokenUsage = { inputTokens: number(usage.inputTokens), outputTokens: number(usage.outputTokens) }
  if (typeof usage.totalTokens === 'number') result.totalTokens = usage.totalTokens
  if (typeof usage.cacheReadInputTokens === 'number') result.cacheReadInputTokens = usage.cacheReadInputTokens
  if (typeof usage.cacheWriteInputTokens === 'number') result.cacheWriteInputTokens = usage.cacheWriteInputTokens
  return result
}

function parse(payload: Uint8Array): Json {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(payload))
  } catch {
    throw invalid('event payload is not JSON')
  }
  return object(value)
}

function object(value: unknown): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('expected an object')
  return value as Json
}

function string(value: unknown): string {
  if (typeof value !== 'string') throw invalid('expected a string')
  return value
}

function number(value: unknown): number {
  if (typeof value !== 'number') throw invalid('expected a number')
  return value
}

function integer(value: unknown): number {
  if (!Number.isInteger(value)) throw invalid('expected an integer index')
  return value as number
}

function invalid(detail: string): BedrockError {
  return new BedrockError({ type: 'InvalidResponse', message: `malformed ConverseStream event: ${detail}`, retryable: false })
}

export interface ConverseStreamEventsOptions {
  signal?: AbortSignal
  /** Recorded on errors raised by the stream (the HTTP attempts it took to get it). */
  attempts?: number
  /** The response's `x-amzn-requestid`, recorded on errors raised by the stream. */
  requestId?: string
}

/**
 * A ConverseStream response body as typed events. Reads the body directly (one await per network
 * chunk, not per event) and yields every event decoded before a failure, then throws it:
 * BedrockError for exception frames, corrupt frames and truncation (including a body that ends
 * without messageStop), an AbortError when `signal` aborts. Breaking out of the loop cancels the body.
 */
export function converseStreamEvents(
  body: ReadableStream<Uint8Array> | ChunkReader,
  options: ConverseStreamEventsOptions = {},
): ConverseStreamEventIterator {
  return new ConverseStreamEventIterator('getReader' in body ? body.getReader() : body, options.signal, options.attempts ?? 1, options.requestId)
}

/**
 * The events of one response body. `batches()` gives the same events grouped as they arrived: one array per network
 * chunk (every event decoded from it), so a consumer handles a chunk's events synchronously, with one await per
 * chunk instead of one per event. Same order, same failure semantics (the events decoded before a failure come
 * first, then the error is thrown); breaking out of the loop cancels the body.
 */
export class ConverseStreamEventIterator implements AsyncIterableIterator<ConverseStreamEvent>, ConverseStreamEvents {
  private readonly frames = new EventStreamFrameDecoder()
  private queue: ConverseStreamEvent[] = []
  private head = 0
  private failure: unknown = undefined
  private ended = false
  private sawMessageStop = false
  private readonly onAbort: (() => void) | undefined
  private readonly onMessage = (message: EventStreamMessage) => {
    const event = toConverseStreamEvent(message)
    if (event === undefined) return
    if (event.type === 'messageStop') this.sawMessageStop = true
    this.queue.push(event)
  }

  constructor(
    private readonly reader: ChunkReader,
    private readonly signal: AbortSignal | undefined,
    private readonly attempts: number,
    private readonly requestId: string | undefined,
  ) {
    if (signal) {
      // The fetch signal already errors the body; this also covers fetch implementations that ignore it.
      this.onAbort = () => void reader.cancel(signal.reason).catch(() => {})
      if (signal.aborted) this.onAbort()
      else signal.addEventListener('abort', this.onAbort, { once: true })
    }
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<ConverseStreamEvent>> {
    if (this.head < this.queue.length) return Promise.resolve({ done: false, value: this.queue[this.head++]! })
    return this.fill()
  }

  async return(): Promise<IteratorResult<ConverseStreamEvent>> {
    this.finish()
    await this.reader.cancel().catch(() => {})
    return { done: true, value: undefined }
  }

  /** The events as they arrived, one array per chunk. Shares this iterator's state: use one or the other. */
  batches(): AsyncIterableIterator<ConverseStreamEvent[]> {
    const batches: AsyncIterableIterator<ConverseStreamEvent[]> = {
      [Symbol.asyncIterator]: () => batches,
      next: () => this.nextBatch(),
      return: async () => {
        await this.return()
        return { done: true, value: undefined }
      },
    }
    return batches
  }

  private async nextBatch(): Promise<IteratorResult<ConverseStreamEvent[]>> {
    const first = this.head < this.queue.length ? { done: false as const, value: this.queue[this.head++]! } : await this.fill()
    if (first.done) return { done: true, value: undefined }
    const batch = [first.value]
    while (this.head < this.queue.length) batch.push(this.queue[this.head++]!)
    return { done: false, value: batch }
  }

  private async fill(): Promise<IteratorResult<ConverseStreamEvent>> {
    for (;;) {
      if (this.head < this.queue.length) return { done: false, value: this.queue[this.head++]! }
      this.queue.length = 0
      this.head = 0
      if (this.failure !== undefined) {
        const failure = this.failure
        if (failure instanceof BedrockError) failure.requestId ??= this.requestId
        this.failure = undefined
        this.finish()
        void this.reader.cancel().catch(() => {})
        throw failure
      }
      if (this.ended) return { done: true, value: undefined }
      let chunk: ReadableStreamReadResult<Uint8Array>
      try {
        chunk = await this.reader.read()
      } catch (error) {
        this.failure = this.signal?.aborted ? abortError(this.signal) : this.networkError(error)
        continue
      }
      if (chunk.done) {
        this.failure = this.endOfBody()
        this.ended = true
        if (this.failure === undefined) this.finish()
        continue
      }
      try {
        this.frames.push(chunk.value, this.onMessage)
      } catch (error) {
        this.failure = this.streamError(error)
      }
    }
  }

  private endOfBody(): unknown {
    if (this.signal?.aborted) return abortError(this.signal)
    try {
      this.frames.finish()
    } catch (error) {
      return this.streamError(error)
    }
    if (!this.sawMessageStop) {
      return new BedrockError({
        type: 'TruncatedStream',
        message: 'ConverseStream ended before messageStop',
        retryable: false,
        attempts: this.attempts,
      })
    }
    return undefined
  }

  private streamError(error: unknown): unknown {
    if (error instanceof BedrockError) {
      error.attempts = this.attempts
      return error
    }
    if (error instanceof EventStreamDecodeError) {
      return new BedrockError({
        type: error.code === 'truncated' ? 'TruncatedStream' : 'InvalidEventStream',
        message: error.message,
        retryable: false,
        attempts: this.attempts,
        cause: error,
      })
    }
    return error
  }

  private networkError(error: unknown): BedrockError {
    return new BedrockError({
      type: 'NetworkError',
      message: `ConverseStream body failed: ${error instanceof Error ? error.message : String(error)}`,
      retryable: false,
      attempts: this.attempts,
      cause: error,
    })
  }

  private finish(): void {
    this.ended = true
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort)
  }
}
