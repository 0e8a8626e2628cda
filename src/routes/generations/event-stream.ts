import type { Context } from 'hono'
import type { SequencedEvent } from '../../stream/events'
import { SSE_HEADERS, sseStream } from '../../protocols/sse'
import type { AppEnv } from '../../types'

/** The resume cursor: `Last-Event-ID` (what EventSource sends on reconnect) wins over `?after=`. */
export function lastEventId(c: Context<AppEnv>, after: number | undefined): number {
  const header = c.req.header('last-event-id')
  const fromHeader = header && /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : undefined
  return fromHeader ?? after ?? 0
}

export function eventStreamResponse(c: Context<AppEnv>, events: AsyncIterable<SequencedEvent[]>): Response {
  return c.body(sseStream(events), 200, SSE_HEADERS)
}

/** Workers give every request an ExecutionContext, Node and Bun never do; asking Hono throws, so ask once. */
let hasExecutionContext: boolean | undefined

const noWait = () => {}

/**
 * The request's `waitUntil` for startTurn: its Worker ExecutionContext's, looked up now (while the request is being
 * handled), or a no-op where the runtime has no ExecutionContext (Node, Bun). A WebSocket calls it later, for each
 * turn it starts.
 */
export function waitUntil(c: Context<AppEnv>): (promise: Promise<unknown>) => void {
  if (hasExecutionContext === false) return noWait
  let context: { waitUntil(promise: Promise<unknown>): void }
  try {
    context = c.executionCtx
    hasExecutionContext = true
  } catch {
    hasExecutionContext = false
    return noWait
  }
  return (promise) => {
    try {
      context.waitUntil(promise)
    } catch {
      // The request's context has ended: the runtime no longer takes work for it.
    }
  }
}
