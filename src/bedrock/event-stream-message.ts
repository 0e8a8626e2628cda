/** One AWS event-stream message (binary framing used by ConverseStream). */
export type EventStreamHeaderValue = string | number | bigint | boolean | Uint8Array | Date

export interface EventStreamMessage {
  /** Decoded header sets may be shared between messages, hence read-only. */
  headers: Readonly<Record<string, EventStreamHeaderValue>>
  payload: Uint8Array
}

/** prelude = total length (4) + headers length (4) + prelude CRC (4); a trailing message CRC (4) follows the payload. */
export const PRELUDE_BYTES = 12
export const MIN_MESSAGE_BYTES = PRELUDE_BYTES + 4
/** The framing allows 16 MiB of payload and 128 KiB of headers per message. */
export const MAX_MESSAGE_BYTES = MIN_MESSAGE_BYTES + 128 * 1024 + 16 * 1024 * 1024

export const HeaderType = {
  true: 0,
  false: 1,
  int8: 2,
  int16: 3,
  int32: 4,
  int64: 5,
  bytes: 6,
  string: 7,
  timestamp: 8,
  uuid: 9,
} as const
