import { describe, expect, it } from 'vitest'
import { EventStreamDecodeError, EventStreamDecoder, EventStreamFrameDecoder } from '../../src/bedrock/event-stream-decoder'
import { encodeMessage } from '../../src/bedrock/event-stream-encoder'
import type { EventStreamMessage } from '../../src/bedrock/event-stream-message'
import { crc32 } from '../../src/bedrock/crc32'

const text = new TextDecoder()
const bytes = (value: string) => new TextEncoder().encode(value)

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** Runs chunks through the TransformStream; resolves with the messages, or with them and the error. */
async function decode(chunks: Uint8Array[]): Promise<{ messages: EventStreamMessage[]; error?: unknown }> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })
  const messages: EventStreamMessage[] = []
  const reader = source.pipeThrough(new EventStreamDecoder()).getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { messages }
      messages.push(value)
    }
  } catch (error) {
    return { messages, error }
  }
}

/** Synchronous decode through the frame decoder (fast enough for thousands of splits). */
function decodeSync(chunks: Uint8Array[]): EventStreamMessage[] {
  const frames = new EventStreamFrameDecoder()
  const messages: EventStreamMessage[] = []
  for (const chunk of chunks) frames.push(chunk, (message) => messages.push(message))
  frames.finish()
  return messages
}

const event = (type: string, payload: object) =>
  encodeMessage({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify(payload))

const sample = [
  event('messageStart', { role: 'assistant', p: 'abc' }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hé, ünïcode ✓' }, p: 'abcdefgh' }),
  encodeMessage({ ':message-type': 'event', ':event-type': 'empty' }, new Uint8Array(0)),
  event('messageStop', { stopReason: 'end_turn' }),
]
const sampleStream = concat(sample)

function summary(messages: EventStreamMessage[]) {
  return messages.map((message) => [message.headers[':event-type'], text.decode(message.payload)])
}

const expected = summary(decodeSync([sampleStream]))

describe('crc32', () => {
  it('matches the standard check value, across the 8-byte fast path and the tail', () => {
    expect(crc32(bytes('123456789'))).toBe(0xcbf43926)
    expect(crc32(bytes('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339)
    expect(crc32(bytes('xx123456789yy'), 2, 11)).toBe(0xcbf43926)
    expect(crc32(new Uint8Array(0))).toBe(0)
  })
})

describe('EventStreamDecoder', () => {
  it('decodes headers of every type and the payload', async () => {
    const frame = encodeMessage(
      {
        yes: true,
        no: false,
        byte: { type: 'int8', value: -5 },
        short: { type: 'int16', value: -300 },
        int: -70000,
        long: { type: 'int64', value: -(2n ** 40n) },
        blob: Uint8Array.of(1, 2, 3),
        str: 'héllo',
        when: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)),
        id: { type: 'uuid', value: '0123e456-789a-bcde-f012-3456789abcde' },
      },
      'payload',
    )
    const { messages, error } = await decode([frame])
    expect(error).toBeUndefined()
    expect(messages).toHaveLength(1)
    expect(messages[0]!.headers).toEqual({
      yes: true,
      no: false,
      byte: -5,
      short: -300,
      int: -70000,
      long: -(2n ** 40n),
      blob: Uint8Array.of(1, 2, 3),
      str: 'héllo',
      when: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)),
      id: '0123e456-789a-bcde-f012-3456789abcde',
    })
    expect(text.decode(messages[0]!.payload)).toBe('payload')
  })

  it('shares decoded header sets between frames with identical header bytes', () => {
    const messages = decodeSync([sampleStream, sampleStream])
    expect(messages[4]!.headers).toBe(messages[0]!.headers)
    expect(Object.isFrozen(messages[0]!.headers)).toBe(true)
    expect(messages[1]!.headers).toEqual({ ':event-type': 'contentBlockDelta', ':content-type': 'application/json', ':message-type': 'event' })
  })

  it('handles the stream split at every byte boundary', () => {
    expect(expected).toHaveLength(4)
    for (let split = 0; split <= sampleStream.length; split++) {
      const messages = decodeSync([sampleStream.subarray(0, split), sampleStream.subarray(split)])
      expect(summary(messages), `split at ${split}`).toEqual(expected)
    }
  })

  it('handles every pair of split points within the first frames', () => {
    const prefix = sample[0]!.length + sample[1]!.length + 5
    for (let a = 1; a < prefix; a++) {
      for (let b = a; b < prefix; b++) {
        const chunks = [sampleStream.subarray(0, a), sampleStream.subarray(a, b), sampleStream.subarray(b)]
        const got = JSON.stringify(summary(decodeSync(chunks)))
        if (got !== JSON.stringify(expected)) expect(got, `splits at ${a}, ${b}`).toBe(JSON.stringify(expected))
      }
    }
  })

  it('handles one byte per chunk, through the TransformStream', async () => {
    const chunks = Array.from(sampleStream, (byte) => Uint8Array.of(byte))
    const { messages, error } = await decode(chunks)
    expect(error).toBeUndefined()
    expect(summary(messages)).toEqual(expected)
  })

  it('decodes many frames in one chunk', async () => {
    const frames = Array.from({ length: 2000 }, (_, i) => event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: `t${i}` } }))
    const { messages, error } = await decode([concat(frames)])
    expect(error).toBeUndefined()
    expect(messages).toHaveLength(2000)
    expect(JSON.parse(text.decode(messages[1999]!.payload)).delta.text).toBe('t1999')
  })

  it('decodes large payloads (2 MiB) arriving in odd-sized chunks', async () => {
    const payload = new Uint8Array(2 * 1024 * 1024 + 3)
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 8)) & 0xff
    const stream = concat([event('before', {}), encodeMessage({ ':message-type': 'event', ':event-type': 'big' }, payload), event('after', {})])
    const chunks: Uint8Array[] = []
    for (let at = 0; at < stream.length; at += 65_521) chunks.push(stream.subarray(at, at + 65_521))
    const { messages, error } = await decode(chunks)
    expect(error).toBeUndefined()
    expect(messages.map((message) => message.headers[':event-type'])).toEqual(['before', 'big', 'after'])
    const received = messages[1]!.payload
    expect(received.length).toBe(payload.length)
    expect(received.every((byte, i) => byte === payload[i])).toBe(true)
  })

  it('ends cleanly on an empty stream', async () => {
    expect(await decode([])).toEqual({ messages: [] })
  })

  describe('rejects', () => {
    const codeOf = (error: unknown) => (error instanceof EventStreamDecodeError ? error.code : error)

    it('a corrupted prelude (length bytes or prelude CRC), whole or split', async () => {
      for (const position of [0, 3, 5, 8, 11]) {
        const corrupt = sampleStream.slice()
        const at = sample[0]!.length + position
        corrupt[at]! ^= 0x10
        const whole = await decode([corrupt])
        expect(codeOf(whole.error), `byte ${position}`).toBe('prelude_crc')
        expect(whole.messages).toHaveLength(1)
        const split = await decode([corrupt.subarray(0, at - 1), corrupt.subarray(at - 1)])
        expect(codeOf(split.error), `byte ${position}, split`).toBe('prelude_crc')
      }
    })

    it('a corrupted header, payload or message CRC, whole or split', async () => {
      const second = sample[1]!
      for (const position of [12, 20, second.length - 10, second.length - 1]) {
        const corrupt = sampleStream.slice()
        const at = sample[0]!.length + position
        corrupt[at]! ^= 0x01
        const whole = await decode([corrupt])
        expect(codeOf(whole.error), `byte ${position}`).toBe('message_crc')
        expect(whole.messages).toHaveLength(1)
        const split = await decode([corrupt.subarray(0, at), corrupt.subarray(at)])
        expect(codeOf(split.error), `byte ${position}, split`).toBe('message_crc')
      }
    })

    it('a stream truncated anywhere inside a frame', async () => {
      for (const cut of [1, 4, 11, 12, 13, sample[0]!.length - 1]) {
        const { messages, error } = await decode([sampleStream.subarray(0, sample[0]!.length + cut)])
        expect(codeOf(error), `cut ${cut}`).toBe('truncated')
        expect(messages).toHaveLength(1)
      }
      const { error } = await decode(Array.from(sampleStream.subarray(0, sampleStream.length - 1), (byte) => Uint8Array.of(byte)))
      expect(codeOf(error)).toBe('truncated')
    })

    it('impossible lengths even with a valid prelude CRC', async () => {
      const prelude = (total: number, headers: number) => {
        const frame = new Uint8Array(32)
        const view = new DataView(frame.buffer)
        view.setUint32(0, total)
        view.setUint32(4, headers)
        view.setUint32(8, crc32(frame, 0, 8))
        return frame
      }
      expect(codeOf((await decode([prelude(15, 0)])).error)).toBe('length')
      expect(codeOf((await decode([prelude(32, 17)])).error)).toBe('length')
      expect(codeOf((await decode([prelude(0xffffffff, 0)])).error)).toBe('length')
    })

    it('malformed headers', async () => {
      const frame = encodeMessage({ a: 'b' }, '')
      frame[12 + 2] = 42
      const view = new DataView(frame.buffer)
      view.setUint32(frame.length - 4, crc32(frame, 0, frame.length - 4))
      expect(codeOf((await decode([frame])).error)).toBe('header')
    })
  })
})
