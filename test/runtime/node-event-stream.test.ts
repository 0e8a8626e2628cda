/**
 * The Node entry's event-stream fast path (src/entries/node-event-stream.ts) against the body it replaces: over real
 * sockets (@hono/node-server), the same bytes and headers, pings while idle, backpressure, and a client that goes
 * away ending the source.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { ServerResponse } from 'node:http'
import { serve, type HttpBindings } from '@hono/node-server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { takeEventStream } from '../../src/entries/node-event-stream'
import { eventStreamBody, eventStreamSource, SSE_HEADERS } from '../../src/protocols/sse'
import type { SequencedEvent } from '../../src/stream/events'

type Source = () => AsyncGenerator<SequencedEvent[]>
const event = (id: number, text: string): SequencedEvent[] => [{ id, type: 'text.delta', data: { generationId: 'gen_1', text } } as unknown as SequencedEvent]
const encode = (events: readonly SequencedEvent[]) => events.map((e) => `id: ${e.id}\ndata: ${JSON.stringify(e.data)}\n\n`).join('')

const servers: { close(): void }[] = []
afterEach(() => servers.splice(0).forEach((server) => server.close()))

async function start(source: Source, fast: boolean, pingMs = 60_000) {
  const app = new Hono<{ Bindings: HttpBindings }>()
  app.use('*', async (c, next) => {
    c.header('X-Before', 'set before the handler')
    await next()
    c.res.headers.append('Set-Cookie', 'a=1')
    c.res.headers.append('Set-Cookie', 'b=2')
  })
  app.get('/events', (c) => c.body(eventStreamBody(source(), encode, pingMs), 200, SSE_HEADERS))
  const fetch = async (request: Request, env: HttpBindings) => {
    const response = await app.fetch(request, env)
    return fast ? takeEventStream(response, env.outgoing instanceof ServerResponse ? env.outgoing : undefined) : response
  }
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: fetch as never, port: 0, hostname: '127.0.0.1' }, () => resolve(started))
  })
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`
}

const get = (url: string) =>
  new Promise<http.IncomingMessage>((resolve, reject) => http.get(url, resolve).on('error', reject))
const text = async (res: http.IncomingMessage) => {
  let out = ''
  for await (const chunk of res) out += chunk
  return out
}

describe('the Node entry writes event streams to the socket', () => {
  it('sends the same headers and bytes as the body it replaces', async () => {
    const source: Source = async function* () {
      for (let i = 1; i <= 20; i++) yield event(i, `token ${i} ✓ "quoted"\n`)
    }
    const answers = await Promise.all([false, true].map(async (fast) => {
      const res = await get(await start(source, fast))
      return { status: res.statusCode, type: res.headers['content-type'], before: res.headers['x-before'], cookies: res.headers['set-cookie'], body: await text(res) }
    }))
    expect(answers[1]).toEqual(answers[0])
    expect(answers[1]).toMatchObject({ status: 200, type: 'text/event-stream; charset=utf-8', before: 'set before the handler', cookies: ['a=1', 'b=2'] })
    expect(answers[1]!.body.match(/^id: /gm)).toHaveLength(20)
  })

  it('pings while idle and ends with the source', async () => {
    let release!: () => void
    const idle = new Promise<void>((resolve) => (release = resolve))
    const source: Source = async function* () {
      yield event(1, 'first')
      await idle
      yield event(2, 'last')
    }
    const res = await get(await start(source, true, 20))
    let received = ''
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => (received += chunk))
    await expect.poll(() => received.split(': ping\n\n').length - 1, { timeout: 10_000 }).toBeGreaterThanOrEqual(2)
    release()
    await new Promise((resolve) => res.once('end', resolve))
    expect(received.startsWith('id: 1\n')).toBe(true)
    expect(received.endsWith('id: 2\ndata: {"generationId":"gen_1","text":"last"}\n\n')).toBe(true)
  })

  it('reads the next batch only once the socket drains, and a client that goes away ends the source', async () => {
    let produced = 0
    let ended = false
    const big = 'x'.repeat(256 * 1024)
    const source: Source = async function* () {
      try {
        for (;;) {
          produced++
          yield event(produced, big)
        }
      } finally {
        ended = true
      }
    }
    const res = await get(await start(source, true))
    res.pause()
    // The socket's buffers fill, then the writer waits for them to drain instead of reading on.
    let seen = -1
    await expect.poll(async () => {
      const before = produced
      await new Promise((resolve) => setTimeout(resolve, 100))
      const stable = produced === before && produced === seen
      seen = produced
      return stable
    }, { timeout: 10_000 }).toBe(true)
    expect(produced).toBeLessThan(200)
    res.destroy()
    await expect.poll(() => ended, { timeout: 10_000 }).toBe(true)
  })

  it('leaves a body that is already being read to the adapter', async () => {
    const body = eventStreamBody((async function* () { yield event(1, 'a') })(), encode)
    const reader = body.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('id: 1')
    expect(eventStreamSource(body)!.claim()).toBe(false)
    const unread = eventStreamBody((async function* () { yield event(1, 'a') })(), encode)
    expect(eventStreamSource(unread)!.claim()).toBe(true)
    await expect(unread.getReader().read()).rejects.toThrow(/written by the runtime entry/)
  })
})
