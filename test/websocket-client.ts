import type { AddressInfo } from 'node:net'
import { serve, upgradeWebSocket } from '@hono/node-server'
import { WebSocket, type WebSocketServer } from 'ws'
import type { AppDependencies } from '../src/app'
import { nodeSocketTransport, nodeWebSocketServer } from '../src/entries/node-websocket'
import type { WebSocketOptions } from '../src/routes/realtime/socket-options'
import type { GenerationHub } from '../src/stream/hub'
import { createMemoryHub } from '../src/stream/memory-hub'
import { createTestApp } from './helpers'

export interface Received {
  id?: number
  event: string
  data: Record<string, unknown>
}

/**
 * The test app behind a real Node server wired as src/entries/node.ts wires it (the same WebSocketServer and
 * transport); `webSocket` overrides the socket options (limits, clock).
 */
export async function startSocketServer(env: Record<string, string> = {}, deps: Partial<AppDependencies> = {}, webSocket: WebSocketOptions = {}) {
  const t = await createTestApp(env, { upgradeWebSocket, webSocket: { ...nodeSocketTransport, ...webSocket }, ...deps })
  const wss: WebSocketServer = nodeWebSocketServer(t.config)
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1', websocket: { server: wss } }, () => resolve(started))
  })
  const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  const close = async () => {
    for (const client of wss.clients) client.terminate()
    await new Promise((resolve) => server.close(resolve))
    t.close()
  }
  return { t, wss, base, close }
}

/** Opens a socket and records what the server sends; `next(pred)` waits for a matching message, `closed` for the close. */
export function open(url: string, protocols?: string[]) {
  const ws = new WebSocket(url, protocols)
  const received: Received[] = []
  const waiters: { predicate: (m: Received) => boolean; resolve: (m: Received) => void }[] = []
  ws.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as Received
    received.push(message)
    for (const waiter of [...waiters]) {
      if (waiter.predicate(message)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(message)
      }
    }
  })
  const next = (predicate: (m: Received) => boolean, ms = 10_000) =>
    new Promise<Received>((resolve, reject) => {
      const found = received.find(predicate)
      if (found) return resolve(found)
      const timer = setTimeout(() => reject(new Error(`no matching message; got ${JSON.stringify(received.map((m) => m.event))}`)), ms)
      waiters.push({ predicate, resolve: (m) => (clearTimeout(timer), resolve(m)) })
    })
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
    ws.once('error', reject)
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })))
  // A refused frame or a server-side close may surface as an error on the client: the close code is what counts.
  ws.on('error', () => undefined)
  const send = (message: unknown) => ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  return { ws, received, next, opened, closed, send }
}

/** Resolves within `ms` or rejects naming `what` (a generous bound: it only turns a hang into a failure). */
export function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error)),
    )
  })
}

/** Polls `check` until it holds (or fails after `ms`). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The memory hub, counting the subscriptions still open (each follower holds one until it ends or is released). */
export function countingHub() {
  let openSubscriptions = 0
  const build = (run: Parameters<typeof createMemoryHub>[0]['run']): GenerationHub => {
    const inner = createMemoryHub({ run })
    return {
      ...inner,
      async subscribe(generationId, after) {
        const events = await inner.subscribe(generationId, after)
        if (!events) return null
        return {
          [Symbol.asyncIterator]() {
            const iterator = events[Symbol.asyncIterator]()
            let done = false
            openSubscriptions++
            const finish = () => {
              if (!done) (done = true), openSubscriptions--
            }
            return {
              async next() {
                const result = await iterator.next()
                if (result.done) finish()
                return result
              },
              async return(value?: unknown) {
                const result = (await iterator.return?.(value)) ?? { done: true as const, value: undefined }
                finish()
                return result
              },
            }
          },
        }
      },
    }
  }
  return { build, open: () => openSubscriptions }
}
