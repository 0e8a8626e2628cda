import type { SequencedEvent } from '../stream/events'

const encoder = new TextEncoder()

/** The native SSE grammar: `id`, `event`, `data` per event; a batch becomes one string, written once. */
export function encodeSse(events: readonly SequencedEvent[]): string {
  let out = ''
  for (const event of events) out += `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`
  return out
}

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
}

/**
 * A text/event-stream body: each batch of events as the string `encode` makes of it (one write per batch; an empty
 * string writes nothing), and a `: ping` comment while idle (every event-stream client skips comments). Pull-based,
 * so a slow client applies backpressure to its own subscription only; a client that goes away ends the iterator (a
 * subscription, or a stateless turn's model call), not a generation another reader follows.
 */
export function eventStreamBody(
  batches: AsyncIterable<SequencedEvent[]>,
  encode: (events: readonly SequencedEvent[]) => string,
  pingMs = 15_000,
): ReadableStream<Uint8Array> {
  const iterator = batches[Symbol.asyncIterator]()
  let ping: ReturnType<typeof setInterval> | undefined
  let lastWrite = Date.now()
  return new ReadableStream<Uint8Array>({
    start(controller) {
      ping = setInterval(() => {
        if (Date.now() - lastWrite < pingMs) return
        lastWrite = Date.now()
        try {
          controller.enqueue(encoder.encode(': ping\n\n'))
        } catch {
          clearInterval(ping)
        }
      }, pingMs)
    },
    async pull(controller) {
      for (;;) {
        const next = await iterator.next()
        if (next.done) {
          clearInterval(ping)
          controller.close()
          return
        }
        const text = encode(next.value)
        if (!text) continue
        lastWrite = Date.now()
        controller.enqueue(encoder.encode(text))
        return
      }
    },
    async cancel() {
      clearInterval(ping)
      await iterator.return?.()
    },
  })
}

/** Native SSE (`id`, `event`, `data` per event). */
export function sseStream(batches: AsyncIterable<SequencedEvent[]>, pingMs = 15_000): ReadableStream<Uint8Array> {
  return eventStreamBody(batches, encodeSse, pingMs)
}
