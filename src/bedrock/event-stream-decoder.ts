import { crc32 } from './crc32'
import {
  HeaderType,
  MAX_MESSAGE_BYTES,
  MIN_MESSAGE_BYTES,
  PRELUDE_BYTES,
  type EventStreamHeaderValue,
  type EventStreamMessage,
} from './event-stream-message'

export type EventStreamDecodeErrorCode = 'truncated' | 'prelude_crc' | 'message_crc' | 'length' | 'header'

export class EventStreamDecodeError extends Error {
  override readonly name = 'EventStreamDecodeError'
  constructor(
    readonly code: EventStreamDecodeErrorCode,
    message: string,
  ) {
    super(message)
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Incremental frame decoder. Whole frames inside a chunk are decoded in place (headers and payload
 * are views into the chunk); only a frame that straddles chunks is copied, once, into a buffer of
 * its exact size, so every byte is copied at most once whatever the chunking.
 */
export class EventStreamFrameDecoder {
  private readonly prelude = new Uint8Array(PRELUDE_BYTES)
  private preludeFilled = 0
  private frame: Uint8Array | null = null
  private frameFilled = 0

  /** Decodes every frame completed by `chunk`, calling `onMessage` for each, in order. */
  push(chunk: Uint8Array, onMessage: (message: EventStreamMessage) => void): void {
    let offset = 0
    const length = chunk.length
    if (this.preludeFilled > 0) {
      offset = this.continuePartial(chunk, onMessage)
      if (offset === length) return
    }
    while (length - offset >= PRELUDE_BYTES) {
      const total = readPrelude(chunk, offset)
      if (length - offset < total) {
        this.frame = new Uint8Array(total)
        this.frame.set(chunk.subarray(offset))
        this.frameFilled = length - offset
        this.preludeFilled = PRELUDE_BYTES
        return
      }
      onMessage(decodeFrame(chunk, offset, total))
      offset += total
    }
    if (offset < length) {
      this.prelude.set(chunk.subarray(offset), 0)
      this.preludeFilled = length - offset
    }
  }

  /** Throws when the stream ended inside a frame. */
  finish(): void {
    if (this.preludeFilled > 0) {
      const have = this.frame ? this.frameFilled : this.preludeFilled
      const want = this.frame ? this.frame.length : PRELUDE_BYTES
      this.reset()
      throw new EventStreamDecodeError('truncated', `event stream ended inside a message (${have} of ${want} bytes)`)
    }
  }

  private continuePartial(chunk: Uint8Array, onMessage: (message: EventStreamMessage) => void): number {
    let offset = 0
    if (this.frame === null) {
      const take = Math.min(PRELUDE_BYTES - this.preludeFilled, chunk.length)
      this.prelude.set(chunk.subarray(0, take), this.preludeFilled)
      this.preludeFilled += take
      offset = take
      if (this.preludeFilled < PRELUDE_BYTES) return offset
      const total = readPrelude(this.prelude, 0)
      this.frame = new Uint8Array(total)
      this.frame.set(this.prelude, 0)
      this.frameFilled = PRELUDE_BYTES
    }
    const frame = this.frame
    const take = Math.min(frame.length - this.frameFilled, chunk.length - offset)
    frame.set(chunk.subarray(offset, offset + take), this.frameFilled)
    this.frameFilled += take
    offset += take
    if (this.frameFilled === frame.length) {
      this.reset()
      onMessage(decodeFrame(frame, 0, frame.length))
    }
    return offset
  }

  private reset(): void {
    this.frame = null
    this.frameFilled = 0
    this.preludeFilled = 0
  }
}

/** Bytes → EventStreamMessage; errors the stream on a bad CRC or length, or on a truncated final frame. */
export class EventStreamDecoder extends TransformStream<Uint8Array, EventStreamMessage> {
  constructor() {
    const frames = new EventStreamFrameDecoder()
    super({
      transform(chunk, controller) {
        frames.push(chunk, (message) => controller.enqueue(message))
      },
      flush() {
        frames.finish()
      },
    })
  }
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
}

function readUint16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!
}

/** Validates the 12-byte prelude at `offset` and returns the message's total length. */
function readPrelude(bytes: Uint8Array, offset: number): number {
  const total = readUint32(bytes, offset)
  const headersLength = readUint32(bytes, offset + 4)
  if (readUint32(bytes, offset + 8) !== crc32(bytes, offset, offset + 8)) {
    throw new EventStreamDecodeError('prelude_crc', 'event stream prelude CRC mismatch')
  }
  if (total < MIN_MESSAGE_BYTES || total > MAX_MESSAGE_BYTES || headersLength > total - MIN_MESSAGE_BYTES) {
    throw new EventStreamDecodeError('length', `invalid event stream lengths (total ${total}, headers ${headersLength})`)
  }
  return total
}

function decodeFrame(bytes: Uint8Array, offset: number, total: number): EventStreamMessage {
  const end = offset + total
  if (readUint32(bytes, end - 4) !== crc32(bytes, offset, end - 4)) {
    throw new EventStreamDecodeError('message_crc', 'event stream message CRC mismatch')
  }
  const headersStart = offset + PRELUDE_BYTES
  const headersEnd = headersStart + readUint32(bytes, offset + 4)
  return {
    headers: headersFor(bytes, headersStart, headersEnd),
    payload: bytes.subarray(headersEnd, end - 4),
  }
}

/**
 * Every frame of one event type carries byte-identical headers, so decoded header sets are
 * remembered (frozen, shared) and a frame's header bytes are only compared, not decoded again.
 */
const recentHeaders: { bytes: Uint8Array; headers: Readonly<Record<string, EventStreamHeaderValue>> }[] = []
const MAX_RECENT_HEADERS = 32
const MAX_REMEMBERED_HEADER_BYTES = 256

function headersFor(bytes: Uint8Array, start: number, end: number): Readonly<Record<string, EventStreamHeaderValue>> {
  const length = end - start
  if (length > MAX_REMEMBERED_HEADER_BYTES) return decodeHeaders(bytes, start, end)
  search: for (let n = 0; n < recentHeaders.length; n++) {
    const entry = recentHeaders[n]!
    const known = entry.bytes
    if (known.length !== length) continue
    for (let i = 0; i < length; i++) if (known[i] !== bytes[start + i]) continue search
    if (n > 0) {
      recentHeaders[n] = recentHeaders[n - 1]!
      recentHeaders[n - 1] = entry
    }
    return entry.headers
  }
  const headers = decodeHeaders(bytes, start, end)
  for (const name in headers) {
    const value = headers[name]
    if (value instanceof Uint8Array || value instanceof Date) return headers
  }
  if (recentHeaders.length >= MAX_RECENT_HEADERS) recentHeaders.pop()
  recentHeaders.push({ bytes: bytes.slice(start, end), headers: Object.freeze(headers) })
  return headers
}

function decodeHeaders(bytes: Uint8Array, start: number, end: number): Record<string, EventStreamHeaderValue> {
  const headers: Record<string, EventStreamHeaderValue> = {}
  let at = start
  while (at < end) {
    const nameLength = bytes[at]!
    const nameEnd = at + 1 + nameLength
    if (nameLength === 0 || nameEnd >= end) throw headerError()
    const name = decodeString(bytes, at + 1, nameEnd)
    const type = bytes[nameEnd]!
    at = nameEnd + 1
    let value: EventStreamHeaderValue
    switch (type) {
      case HeaderType.true:
        value = true
        break
      case HeaderType.false:
        value = false
        break
      case HeaderType.int8:
        need(at + 1, end)
        value = (bytes[at]! << 24) >> 24
        at += 1
        break
      case HeaderType.int16:
        need(at + 2, end)
        value = (readUint16(bytes, at) << 16) >> 16
        at += 2
        break
      case HeaderType.int32:
        need(at + 4, end)
        value = readUint32(bytes, at) | 0
        at += 4
        break
      case HeaderType.int64:
      case HeaderType.timestamp: {
        need(at + 8, end)
        const int64 = new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigInt64(0)
        value = type === HeaderType.int64 ? int64 : new Date(Number(int64))
        at += 8
        break
      }
      case HeaderType.bytes:
      case HeaderType.string: {
        need(at + 2, end)
        const valueEnd = at + 2 + readUint16(bytes, at)
        need(valueEnd, end)
        value = type === HeaderType.string ? decodeString(bytes, at + 2, valueEnd) : bytes.slice(at + 2, valueEnd)
        at = valueEnd
        break
      }
      case HeaderType.uuid:
        need(at + 16, end)
        value = formatUuid(bytes, at)
        at += 16
        break
      default:
        throw headerError(`unknown event stream header type ${type}`)
    }
    headers[name] = value
  }
  return headers
}

function need(until: number, end: number): void {
  if (until > end) throw headerError()
}

function headerError(message = 'malformed event stream headers'): EventStreamDecodeError {
  return new EventStreamDecodeError('header', message)
}

/** Header names and values are short ASCII in practice: skip TextDecoder's call overhead for those. */
function decodeString(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let text = ''
    for (let i = start; i < end; i++) {
      const byte = bytes[i]!
      if (byte >= 0x80) return decodeUtf8(bytes, start, end)
      text += String.fromCharCode(byte)
    }
    return text
  }
  return decodeUtf8(bytes, start, end)
}

function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  try {
    return utf8.decode(bytes.subarray(start, end))
  } catch {
    throw headerError('event stream header is not valid UTF-8')
  }
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'))

function formatUuid(bytes: Uint8Array, at: number): string {
  let hex = ''
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) hex += '-'
    hex += HEX[bytes[at + i]!]
  }
  return hex
}
