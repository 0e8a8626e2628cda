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

/** The comment an idle event stream writes every `pingMs` (every event-stream client skips comments). */
export const PING = ': ping\n\n'

/**
 * What an event-stream body is read from: the text of each write, in order. A runtime entry may take it over and
 * write to its socket itself (`claim`, before the body is read: the Node entry's `entries/node-event-stream.ts`),
 * instead of reading the body's ReadableStream.
 */
export interface EventStreamSource {
  /** The next text to write (never empty), or null at the end. */
  next(): Promise<string | null>
  /** The reader went away: ends the iteration (a subscription, or a stateless turn's model call). */
  cancel(): Promise<void>
  readonly pingMs: number
  /** Takes the source over; false when the body has started being read. */
  claim(): boolean
}

const SOURCE = Symbol('eventStreamSource')

/** The source behind an event-stream body made by eventStreamBody, if `body` is one. */
export function eventStreamSource(body: ReadableStream<Uint8Array> | null): EventStreamSource | undefined {
  return (body as { [SOURCE]?: EventStreamSource } | null)?.[SOURCE]
}

/**
 * A text/event-stream body: each batch of events as the string `encode` makes of it (one write per batch; an empty
 * string writes nothing), and a `: ping` comment while idle. Pull-based, so a slow client applies backpressure to its
 * own subscription only; a client that goes away ends the iterator (a subscription, or a stateless turn's model
 * call), not a generation another reader follows. Nothing is read from `batches` before the body is.
 */
export function eventStreamBody(
  batches: AsyncIterable<SequencedEvent[]>,
  encode: (events: readonly SequencedEvent[]) => string,
  pingMs = 15_000,
): ReadableStream<Uint8Array> {
  const iterator = batches[Symbol.asyncIterator]()
  let owner: 'none' | 'body' | 'claimed' = 'none'
  const source: EventStreamSource = {
    async next() {
      for (;;) {
        const next = await iterator.next()
        if (next.done) return null
        const text = encode(next.value)
        if (text) return text
      }
    },
    async cancel() {
      await iterator.return?.()
    },
    pingMs,
    claim() {
      if (owner === 'body') return false
      owner = 'claimed'
      return true
    },
  }
  let ping: ReturnType<typeof setInterval> | undefined
  let lastWrite = Date.now()
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (owner === 'claimed') throw new TypeError('this event stream is written by the runtime entry')
        if (owner === 'none') {
          owner = 'body'
          ping = setInterval(() => {
            if (Date.now() - lastWrite < pingMs) return
            lastWrite = Date.now()
            try {
              controller.enqueue(encoder.encode(PING))
            } catch {
              clearInterval(ping)
            }
          }, pingMs)
        }
        const text = await source.next()
        if (text === null) {
          clearInterval(ping)
          controller.close()
          return
        }
        lastWrite = Date.now()
        controller.enqueue(encoder.encode(text))
      },
      async cancel() {
        clearInterval(ping)
        if (owner !== 'claimed') await source.cancel()
      },
    },
    { highWaterMark: 0 },
  )
  Object.defineProperty(body, SOURCE, { value: source })
  return body
}

/** Native SSE (`id`, `event`, `data` per event). */
export function sseStream(batches: AsyncIterable<SequencedEvent[]>, pingMs = 15_000): ReadableStream<Uint8Array> {
  return eventStreamBody(batches, encodeSse, pingMs)
}
