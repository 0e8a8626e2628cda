import { describe, expect, it } from 'vitest'
import { BedrockError } from '../../src/bedrock/bedrock-error'
import { converseStreamEvents, toConverseStreamEvent } from '../../src/bedrock/converse-stream'
import { EventStreamFrameDecoder } from '../../src/bedrock/event-stream-decoder'
import { encodeMessage } from '../../src/bedrock/event-stream-encoder'
import type { EventStreamMessage } from '../../src/bedrock/event-stream-message'
import { collect, eventFrame, exceptionFrame, streamOf, textTurn } from './frames'

function message(frame: Uint8Array): EventStreamMessage {
  let decoded: EventStreamMessage | undefined
  new EventStreamFrameDecoder().push(frame, (m) => (decoded = m))
  return decoded!
}

const mapped = (type: string, payload: object) => toConverseStreamEvent(message(eventFrame(type, payload)))

describe('toConverseStreamEvent', () => {
  it('maps every ConverseStream event, ignoring padding and unknown fields', () => {
    expect(mapped('messageStart', { role: 'assistant', p: 'abc' })).toEqual({ type: 'messageStart', role: 'assistant' })
    expect(mapped('contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 't1', name: 'weather', extra: 1 } }, p: 'x' })).toEqual({
      type: 'contentBlockStart',
      index: 1,
      toolUse: { toolUseId: 't1', name: 'weather' },
    })
    expect(mapped('contentBlockStart', { contentBlockIndex: 2, start: { somethingNew: {} } })).toEqual({ type: 'contentBlockStart', index: 2 })
    expect(mapped('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' }, p: 'abcdef' })).toEqual({ type: 'textDelta', index: 0, text: 'Hi' })
    expect(mapped('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"ci' } } })).toEqual({
      type: 'toolUseDelta',
      index: 1,
      input: '{"ci',
    })
    expect(mapped('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { text: 'hmm' } } })).toEqual({
      type: 'reasoningDelta',
      index: 0,
      text: 'hmm',
      signature: undefined,
    })
    expect(mapped('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { signature: 'sig' } } })).toMatchObject({
      type: 'reasoningDelta',
      signature: 'sig',
    })
    expect(mapped('contentBlockDelta', { contentBlockIndex: 0, delta: { citation: {} } })).toBeUndefined()
    expect(mapped('contentBlockStop', { contentBlockIndex: 0, p: 'ab' })).toEqual({ type: 'contentBlockStop', index: 0 })
    expect(mapped('messageStop', { stopReason: 'max_tokens', additionalModelResponseFields: {} })).toEqual({ type: 'messageStop', stopReason: 'max_tokens' })
    expect(
      mapped('metadata', {
        usage: { inputTokens: 5, outputTokens: 7, totalTokens: 12, cacheReadInputTokens: 2 },
        metrics: { latencyMs: 321 },
        trace: {},
        p: 'abc',
      }),
    ).toEqual({ type: 'metadata', usage: { inputTokens: 5, outputTokens: 7, totalTokens: 12, cacheReadInputTokens: 2 }, metrics: { latencyMs: 321 } })
    expect(mapped('someFutureEvent', { a: 1 })).toBeUndefined()
  })

  it('rejects malformed payloads as InvalidResponse', () => {
    for (const [type, payload] of [
      ['contentBlockDelta', { delta: { text: 'x' } }],
      ['contentBlockDelta', { contentBlockIndex: 0, delta: 'x' }],
      ['messageStart', { role: 'user' }],
      ['metadata', { usage: { inputTokens: '1', outputTokens: 2 } }],
    ] as const) {
      expect(() => mapped(type, payload)).toThrow(expect.objectContaining({ type: 'InvalidResponse' }))
    }
    const notJson = encodeMessage({ ':message-type': 'event', ':event-type': 'messageStop' }, '{nope')
    expect(() => toConverseStreamEvent(message(notJson))).toThrow(BedrockError)
  })

  it('throws typed errors for exception frames', () => {
    const throwing = (frame: Uint8Array) => {
      try {
        toConverseStreamEvent(message(frame))
      } catch (error) {
        return error as BedrockError
      }
      throw new Error('did not throw')
    }
    const modelError = throwing(exceptionFrame('modelStreamErrorException', { message: 'boom', originalStatusCode: 500 }))
    expect(modelError).toBeInstanceOf(BedrockError)
    expect(modelError).toMatchObject({ type: 'ModelStreamErrorException', message: 'boom', status: 424, retryable: false })
    expect(throwing(exceptionFrame('throttlingException', { message: 'slow down' }))).toMatchObject({ type: 'ThrottlingException', status: 429, retryable: true })
    expect(throwing(exceptionFrame('internalServerException', { message: 'x' }))).toMatchObject({ status: 500, retryable: true })
    expect(throwing(exceptionFrame('serviceUnavailableException', { message: 'x' }))).toMatchObject({ status: 503, retryable: true })
    expect(throwing(exceptionFrame('validationException', { message: 'bad' }))).toMatchObject({ type: 'ValidationException', status: 400, retryable: false })
    const error = throwing(encodeMessage({ ':message-type': 'error', ':error-code': 'InternalFailure', ':error-message': 'oops' }, ''))
    expect(error).toMatchObject({ type: 'InternalFailure', message: 'oops', retryable: false })
  })
})

describe('converseStreamEvents', () => {
  it('yields the typed events of a whole turn, one byte per chunk', async () => {
    const bytes = textTurn(['Hel', 'lo']).flatMap((frame) => Array.from(frame, (byte) => Uint8Array.of(byte)))
    const { items, error } = await collect(converseStreamEvents(streamOf(bytes)))
    expect(error).toBeUndefined()
    expect(items.map((event) => event.type)).toEqual(['messageStart', 'textDelta', 'textDelta', 'contentBlockStop', 'messageStop', 'metadata'])
  })

  it('yields the events before a mid-stream exception, then throws it', async () => {
    const frames = textTurn(['a', 'b', 'c']).slice(0, 3)
    const chunk = new Uint8Array([...frames.flatMap((f) => [...f]), ...exceptionFrame('modelStreamErrorException', { message: 'boom' })])
    const { items, error } = await collect(converseStreamEvents(streamOf([chunk]), { attempts: 2 }))
    expect(items.map((event) => event.type)).toEqual(['messageStart', 'textDelta', 'textDelta'])
    expect(error).toMatchObject({ name: 'BedrockError', type: 'ModelStreamErrorException', retryable: false, attempts: 2 })
  })

  it('turns a body cut inside a frame into a TruncatedStream error after the whole frames', async () => {
    const frames = textTurn(['a', 'b'])
    const cut = frames[2]!.subarray(0, 20)
    const { items, error } = await collect(converseStreamEvents(streamOf([frames[0]!, frames[1]!, cut])))
    expect(items).toHaveLength(2)
    expect(error).toBeInstanceOf(BedrockError)
    expect(error).toMatchObject({ type: 'TruncatedStream', retryable: false })
  })

  it('treats a body that ends between frames but before messageStop as truncated', async () => {
    const { items, error } = await collect(converseStreamEvents(streamOf(textTurn(['a']).slice(0, 2))))
    expect(items).toHaveLength(2)
    expect(error).toMatchObject({ type: 'TruncatedStream' })
  })

  it('reports a corrupt frame as InvalidEventStream', async () => {
    const frames = textTurn(['a'])
    const corrupt = frames[1]!.slice()
    corrupt[30]! ^= 1
    const { error } = await collect(converseStreamEvents(streamOf([frames[0]!, corrupt])))
    expect(error).toMatchObject({ type: 'InvalidEventStream', retryable: false })
  })

  it('cancels the body when the consumer stops early', async () => {
    let cancelled = false
    const events = converseStreamEvents(streamOf(textTurn(['a', 'b']), { keepOpen: true, onCancel: () => void (cancelled = true) }))
    for await (const event of events) if (event.type === 'textDelta') break
    expect(cancelled).toBe(true)
  })

  it('ends with an AbortError when the signal aborts, even if the body ignores it', async () => {
    const controller = new AbortController()
    let cancelled = false
    const events = converseStreamEvents(streamOf(textTurn(['a']).slice(0, 2), { keepOpen: true, onCancel: () => void (cancelled = true) }), {
      signal: controller.signal,
    })
    const seen: string[] = []
    const run = collect({ [Symbol.asyncIterator]: () => events })
    await new Promise((resolve) => setTimeout(resolve, 10))
    controller.abort()
    const { items, error } = await run
    seen.push(...items.map((event) => event.type))
    expect(seen).toEqual(['messageStart', 'textDelta'])
    expect(error).toBeInstanceOf(DOMException)
    expect((error as DOMException).name).toBe('AbortError')
    expect(cancelled).toBe(true)
  })
})
