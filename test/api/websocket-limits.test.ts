import type { WebSocket as ServerSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import type { BedrockClient as ModelClient, ConverseStreamEvent } from '../../src/bedrock/types'
import { nodeSocketTransport } from '../../src/entries/node-websocket'
import { CloseCode } from '../../src/routes/realtime/socket-options'
import { TokenBucket } from '../../src/routes/realtime/token-bucket'
import { countingHub, eventually, open, startSocketServer, within } from '../websocket-client'

const servers: Awaited<ReturnType<typeof startSocketServer>>[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

async function start(...args: Parameters<typeof startSocketServer>) {
  const server = await startSocketServer(...args)
  servers.push(server)
  return server
}

describe('TokenBucket', () => {
  it('allows the burst at once, then the rate', () => {
    let now = 1_000
    const bucket = new TokenBucket(20, 40, () => now)
    for (let i = 0; i < 40; i++) expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
    expect(bucket.retryAfter()).toBe(1)
    now += 50 // 1/20 s: one frame
    expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
    now += 60_000 // refills to the burst, not beyond
    for (let i = 0; i < 40; i++) expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
    now -= 10_000 // a clock going back refills nothing
    expect(bucket.take()).toBe(false)
  })
})

describe('WebSocket limits', () => {
  it('answers frames past the rate with rate_limited, then closes a socket that keeps going (1008)', async () => {
    // The limiter's clock stands still: no frame is refilled however slowly the frames are processed.
    const server = await start({}, {}, { now: () => 0, limits: { framesPerSecond: 20, frameBurst: 40, refusalsBeforeClose: 40 } })
    const user = await server.t.register()
    const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const socket = open(`${server.base}/v1/conversations/${conv.id}/ws?token=${user.accessToken}`)
    await socket.opened
    for (let i = 0; i < 81; i++) socket.send({ type: 'cancel' })
    expect(await within(socket.closed, 'the socket to close')).toEqual({ code: CloseCode.policy, reason: 'Rate limit exceeded' })
    const limited = socket.received.filter((m) => m.data.code === 'rate_limited')
    expect(limited).toHaveLength(40)
    expect(limited[0]!.data).toMatchObject({ status: 429, retryAfter: 1, message: expect.stringContaining('20 a second') })
    // The frames within the burst were processed (no generation runs, so each cancel is a conflict).
    expect(socket.received.filter((m) => m.data.code === 'conflict').length).toBeLessThanOrEqual(40)
  })

  it('stops pulling events while a client does not read, and drops it when its buffer stays full', async () => {
    const highWaterBytes = 256 * 1024
    const chunk = 'x'.repeat(64 * 1024)
    // 32 MiB of text deltas: far more than the kernel's socket buffers on both sides can hold.
    const models: ModelClient = {
      converse: () => Promise.reject(new Error('not used')),
      converseStream: async () =>
        (async function* (): AsyncGenerator<ConverseStreamEvent> {
          yield { type: 'messageStart', role: 'assistant' }
          for (let i = 0; i < 512; i++) yield { type: 'textDelta', index: 0, text: chunk }
          yield { type: 'contentBlockStop', index: 0 }
          yield { type: 'messageStop', stopReason: 'end_turn' }
          yield { type: 'metadata', usage: { inputTokens: 1, outputTokens: 512 }, metrics: { latencyMs: 1 } }
        })(),
    }
    const subscriptions = countingHub()
    let measured = 0
    const server = await start(
      {},
      { models, hub: subscriptions.build },
      {
        bufferedAmount: (ws) => (measured++, nodeSocketTransport.bufferedAmount!(ws)),
        limits: { highWaterBytes, stalledCloseMs: 1_000, drainPollMs: 10 },
      },
    )
    const serverSockets: ServerSocket[] = []
    server.wss.on('connection', (ws) => serverSockets.push(ws))
    const user = await server.t.register()
    const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const socket = open(`${server.base}/v1/conversations/${conv.id}/ws?token=${user.accessToken}`)
    await socket.opened
    const serverSocket = serverSockets[0]!
    const serverClosed = new Promise<void>((resolve) => serverSocket.once('close', () => resolve()))

    // The client stops reading; the server's buffer is sampled independently of the route's own measurements.
    const tcp = (socket.ws as unknown as { _socket: import('node:net').Socket })._socket
    tcp.pause()
    let largest = 0
    const sampler = setInterval(() => (largest = Math.max(largest, serverSocket.bufferedAmount)), 5)
    try {
      socket.send({ type: 'message', content: 'Fill the pipe' })
      await within(serverClosed, 'the server to drop the slow client')
      largest = Math.max(largest, serverSocket.bufferedAmount)
    } finally {
      clearInterval(sampler)
    }
    // It did fill up (back-pressure engaged), but never by more than the mark plus one event.
    expect(measured).toBeGreaterThan(0)
    expect(largest).toBeGreaterThan(highWaterBytes)
    expect(largest).toBeLessThanOrEqual(highWaterBytes + chunk.length + 1024)
    await eventually(() => subscriptions.open() === 0, 'the dropped socket’s follower to be released')

    tcp.resume()
    const closed = await within(socket.closed, 'the client to see the connection end')
    expect(closed.code).not.toBe(1000)
  })
})
