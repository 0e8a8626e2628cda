import type { Context } from 'hono'
import type { SequencedEvent } from '../../stream/events'
import { SSE_HEADERS, sseStream } from '../../stream/sse'
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

/** On Workers, keeps the isolate working on the generation after the response is sent. */
export function keepRunning(c: Context<AppEnv>, running: Promise<void> | undefined): void {
  if (!running || hasExecutionContext === false) return
  try {
    c.executionCtx.waitUntil(running)
    hasExecutionContext = true
  } catch {
    hasExecutionContext = false
  }
}
