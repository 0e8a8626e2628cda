import type { AddressInfo } from 'node:net'
import { serve, upgradeWebSocket } from '@hono/node-server'
import { WebSocket, WebSocketServer } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, type TestApp } from '../helpers'

interface Received {
  id?: number
  event: string
  data: Record<string, unknown>
}

let t: TestApp
let server: ReturnType<typeof serve>
let base: string

beforeAll(async () => {
  t = await createTestApp({}, { upgradeWebSocket })
  const wss = new WebSocketServer({ noServer: true })
  server = await new Promise((resolve) => {
    const started = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1', websocket: { server: wss } }, () => resolve(started))
  })
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  t.close()
})

/** Opens a socket and records what the server sends; `next(pred)` waits for a matching message. */
function open(url: string, protocols?: string[]) {
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
  const next = (predicate: (m: Received) => boolean, ms = 5_000) =>
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
  const send = (message: unknown) => ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  return { ws, received, next, opened, send }
}

async function setup() {
  const user = await t.register()
  const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
  return { user, conv, url: `${base}/v1/conversations/${conv.id}/ws` }
}

describe('WebSocket', () => {
  it('runs a turn and sends the SSE events as JSON objects', async () => {
    const { user, url } = await setup()
    const socket = open(`${url}?token=${user.accessToken}`)
    await socket.opened
    socket.send({ type: 'message', content: 'Over a socket [[emulator tokens=4]]' })
    const done = await socket.next((m) => m.event === 'generation.completed')
    const events = socket.received.filter((m) => m.id !== undefined)
    expect(events.map((m) => m.id)).toEqual(events.map((_, i) => i + 1))
    expect(events.map((m) => m.event)).toEqual(['generation.started', 'text.delta', 'text.delta', 'text.delta', 'text.delta', 'usage', 'generation.completed'])
    expect(done.data.usage).toMatchObject({ outputTokens: 4 })
    socket.ws.close()
  })

  it('takes the token from Sec-WebSocket-Protocol and answers with the bearer protocol', async () => {
    const { user, url } = await setup()
    const socket = open(url, ['bearer', user.accessToken])
    await socket.opened
    expect(socket.ws.protocol).toBe('bearer')
    socket.ws.close()
  })

  it('cancels and resumes over the socket', async () => {
    const { user, url } = await setup()
    const socket = open(`${url}?token=${user.accessToken}`)
    await socket.opened
    socket.send({ type: 'message', content: 'Slow [[emulator tokens=200 delay=10]]' })
    const started = await socket.next((m) => m.event === 'generation.started')
    await socket.next((m) => m.event === 'text.delta' && (m.id ?? 0) >= 4)
    socket.send({ type: 'cancel' })
    await socket.next((m) => m.event === 'generation.cancelled')

    const second = open(`${url}?token=${user.accessToken}`)
    await second.opened
    second.send({ type: 'resume', generationId: started.data.generationId, after: 2 })
    const cancelled = await second.next((m) => m.event === 'generation.cancelled')
    const replayed = second.received.filter((m) => m.id !== undefined)
    expect(replayed[0]!.id).toBe(3)
    expect(replayed.at(-1)).toEqual(cancelled)
    socket.ws.close()
    second.ws.close()
  })

  it('answers bad frames with an error event and keeps the socket open', async () => {
    const { user, url } = await setup()
    const socket = open(`${url}?token=${user.accessToken}`)
    await socket.opened
    for (const frame of ['not json', JSON.stringify({ type: 'dance' }), JSON.stringify({ type: 'message', content: '' }), JSON.stringify({ type: 'resume', generationId: 'gen_nope' })]) {
      const before = socket.received.length
      socket.send(frame)
      const error = await socket.next((m) => m.event === 'error' && socket.received.indexOf(m) >= before)
      expect(['validation_failed', 'not_found']).toContain(error.data.code)
    }
    socket.send({ type: 'cancel' })
    expect((await socket.next((m) => m.event === 'error' && m.data.code === 'conflict')).data.status).toBe(409)
    socket.send({ type: 'message', content: 'still alive [[emulator tokens=1]]' })
    await socket.next((m) => m.event === 'generation.completed')
    socket.ws.close()
  })

  it('refuses the upgrade with 401 without a valid token and 404 for a conversation the caller cannot see', async () => {
    const { user, url } = await setup()
    const stranger = await t.register()
    await expect(open(url).opened).rejects.toThrow('401')
    await expect(open(`${url}?token=forged.token.value`).opened).rejects.toThrow('401')
    await expect(open(`${url}?token=${stranger.accessToken}`).opened).rejects.toThrow('404')
    await expectProblem(await stranger.call('GET', url.replace(base, '')), 404, 'not_found')
    await expectProblem(await user.call('GET', url.replace(base, '')), 400, 'validation_failed')
  })
})
