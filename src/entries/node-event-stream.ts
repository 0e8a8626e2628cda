/**
 * The Node entry's fast path for event streams: the events' text written straight to the socket, instead of through
 * the body's Web ReadableStream and the adapter's reader (a promise chain per write). Same bytes, same pings, same
 * backpressure (the next batch is only read once the socket has drained), and a client that goes away cancels the
 * source as the body's cancel would. Responses it does not take pass through unchanged.
 */
import type { ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { eventStreamSource, PING, type EventStreamSource } from '../protocols/sse'

/** `response` as the adapter should get it: RESPONSE_ALREADY_SENT once an event stream is being written here. */
export function takeEventStream(response: Response, outgoing: ServerResponse | undefined): Response {
  if (!outgoing || !response.headers.get('content-type')?.startsWith('text/event-stream')) return response
  const source = eventStreamSource(response.body)
  if (!source?.claim()) return response
  void writeEventStream(response, source, outgoing)
  return RESPONSE_ALREADY_SENT
}

function headersOf(response: Response): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {}
  for (const [name, value] of response.headers) if (name !== 'set-cookie') headers[name] = value
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) headers['set-cookie'] = cookies
  return headers
}

async function writeEventStream(response: Response, source: EventStreamSource, outgoing: ServerResponse): Promise<void> {
  let gone = false
  let lastWrite = Date.now()
  const ping = setInterval(() => {
    if (Date.now() - lastWrite < source.pingMs) return
    lastWrite = Date.now()
    outgoing.write(PING)
  }, source.pingMs)
  let wake: (() => void) | null = null
  const onGone = () => {
    gone = true
    wake?.()
    void source.cancel().catch(() => {})
  }
  outgoing.once('close', onGone)
  const drained = () => new Promise<void>((resolve) => (wake = resolve)).finally(() => (wake = null))
  const onDrain = () => wake?.()
  outgoing.on('drain', onDrain)
  try {
    outgoing.writeHead(response.status, headersOf(response))
    outgoing.flushHeaders()
    for (;;) {
      const text = await source.next()
      if (gone) return
      if (text === null) break
      lastWrite = Date.now()
      if (!outgoing.write(text)) await drained()
      if (gone) return
    }
    outgoing.end()
  } catch (error) {
    outgoing.destroy(error instanceof Error ? error : new Error(String(error)))
  } finally {
    clearInterval(ping)
    outgoing.off('close', onGone)
    outgoing.off('drain', onDrain)
  }
}
