import type { AppError } from '../errors'
import type { SequencedEvent } from '../stream/events'

/** The WebSocket protocol: one text frame per event, the native SSE event as JSON `{id, event, data}`. */
export function webSocketFrame(event: SequencedEvent): string {
  return JSON.stringify({ id: event.id, event: event.type, data: event.data })
}

/** A refused client message as a frame: `{event: "error", data: {code, status, message, errors?, ...members}}`; null: an unexpected error. */
export function webSocketErrorFrame(error: AppError | null): string {
  return JSON.stringify({
    event: 'error',
    data: {
      code: error?.code ?? 'internal',
      status: error?.status ?? 500,
      message: error?.message ?? 'An unexpected error occurred',
      ...(error?.extra.errors ? { errors: error.extra.errors } : {}),
      ...error?.extra.members,
    },
  })
}
