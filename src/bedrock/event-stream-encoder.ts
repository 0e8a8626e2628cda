import { crc32 } from './crc32'
import { HeaderType, MAX_MESSAGE_BYTES, PRELUDE_BYTES } from './event-stream-message'

/**
 * A header value to encode. Plain values map to their natural wire type (number → int32,
 * bigint → int64, Date → timestamp); the tagged form picks int8, int16 or uuid explicitly.
 */
export type EncodableHeaderValue =
  | string
  | boolean
  | number
  | bigint
  | Uint8Array
  | Date
  | { type: 'int8' | 'int16' | 'int32'; value: number }
  | { type: 'int64'; value: bigint }
  | { type: 'uuid'; value: string }

const utf8 = new TextEncoder()

/** One framed message. `headers` may be pre-encoded with encodeHeaders when the same set is sent repeatedly. */
export function encodeMessage(headers: Record<string, EncodableHeaderValue> | Uint8Array, payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? utf8.encode(payload) : payload
  const encodedHeaders = headers instanceof Uint8Array ? headers : encodeHeaders(headers)
  const total = PRELUDE_BYTES + encodedHeaders.length + body.length + 4
  if (total > MAX_MESSAGE_BYTES) throw new RangeError(`event stream message too large (${total} bytes)`)
  const message = new Uint8Array(total)
  const view = new DataView(message.buffer)
  view.setUint32(0, total)
  view.setUint32(4, encodedHeaders.length)
  view.setUint32(8, crc32(message, 0, 8))
  message.set(encodedHeaders, PRELUDE_BYTES)
  message.set(body, PRELUDE_BYTES + encodedHeaders.length)
  view.setUint32(total - 4, crc32(message, 0, total - 4))
  return message
}

export function encodeHeaders(headers: Record<string, EncodableHeaderValue>): Uint8Array {
  const parts: Uint8Array[] = []
  let length = 0
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = utf8.encode(name)
    if (nameBytes.length === 0 || nameBytes.length > 255) throw new RangeError(`invalid header name length: ${name}`)
    const valueBytes = encodeHeaderValue(value)
    const part = new Uint8Array(1 + nameBytes.length + valueBytes.length)
    part[0] = nameBytes.length
    part.set(nameBytes, 1)
    part.set(valueBytes, 1 + nameBytes.length)
    parts.push(part)
    length += part.length
  }
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

function encodeHeaderValue(value: EncodableHeaderValue): Uint8Array {
  if (typeof value === 'boolean') return Uint8Array.of(value ? HeaderType.true : HeaderType.false)
  if (typeof value === 'number') return encodeHeaderValue({ type: 'int32', value })
  if (typeof value === 'bigint') return encodeHeaderValue({ type: 'int64', value })
  if (typeof value === 'string') return withLength(HeaderType.string, utf8.encode(value))
  if (value instanceof Uint8Array) return withLength(HeaderType.bytes, value)
  if (value instanceof Date) return fixed(HeaderType.timestamp, 8, (view) => view.setBigInt64(1, BigInt(value.getTime())))
  switch (value.type) {
    case 'int8':
      return fixed(HeaderType.int8, 1, (view) => view.setInt8(1, value.value))
    case 'int16':
      return fixed(HeaderType.int16, 2, (view) => view.setInt16(1, value.value))
    case 'int32':
      return fixed(HeaderType.int32, 4, (view) => view.setInt32(1, value.value))
    case 'int64':
      return fixed(HeaderType.int64, 8, (view) => view.setBigInt64(1, value.value))
    case 'uuid': {
      const hex = value.value.replace(/-/g, '')
      if (!/^[0-9a-f]{32}$/i.test(hex)) throw new RangeError(`invalid uuid header value: ${value.value}`)
      const out = new Uint8Array(17)
      out[0] = HeaderType.uuid
      for (let i = 0; i < 16; i++) out[1 + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
      return out
    }
  }
}

function withLength(type: number, bytes: Uint8Array): Uint8Array {
  if (bytes.length > 0xffff) throw new RangeError('header value longer than 65535 bytes')
  const out = new Uint8Array(3 + bytes.length)
  out[0] = type
  out[1] = bytes.length >> 8
  out[2] = bytes.length & 0xff
  out.set(bytes, 3)
  return out
}

function fixed(type: number, size: number, write: (view: DataView) => void): Uint8Array {
  const out = new Uint8Array(1 + size)
  out[0] = type
  write(new DataView(out.buffer))
  return out
}
