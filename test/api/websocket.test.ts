import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem, type TestApp } from '../helpers'
import { countingHub, eventually, open, startSocketServer, within } from '../websocket-client'

let t: TestApp
let base: string
let stop: () => Promise<void>
const subscriptions = countingHub()

beforeAll(async () => {
  const started = await startSocketServer({}, { hub: subscriptions.build })
  ;({ t, base, close: stop } = started)
})
afterAll(() => stop())

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
    const frames: (string | Uint8Array)[] = [
      'not json',
      new TextEncoder().encode('{"type":"cancel"}'),
      JSON.stringify({ type: 'dance' }),
      JSON.stringify({ type: 'message', content: '' }),
      JSON.stringify({ type: 'resume', generationId: 'gen_nope' }),
    ]
    for (const frame of frames) {
      const before = socket.received.length
      socket.ws.send(frame)
      const error = await socket.next((m) => m.event === 'error' && socket.received.indexOf(m) >= before)
      expect(['validation_failed', 'not_found']).toContain(error.data.code)
      // API.md: validation_failed always carries `errors`, also for a frame that is not JSON or not text.
      if (error.data.code === 'validation_failed') {
        expect(error.data.errors).toEqual(expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]))
      }
    }
    expect(socket.received.filter((m) => m.data.code === 'validation_failed').map((m) => m.data.errors)).toEqual([
      [{ path: '', message: 'Malformed JSON' }],
      [{ path: '', message: 'Messages must be JSON text frames' }],
      expect.any(Array),
      expect.any(Array),
    ])
    socket.send({ type: 'cancel' })
    expect((await socket.next((m) => m.event === 'error' && m.data.code === 'conflict')).data.status).toBe(409)
    socket.send({ type: 'message', content: 'still alive [[emulator tokens=1]]' })
    await socket.next((m) => m.event === 'generation.completed')
    socket.ws.close()
  })

  it('gives a socket one follower per generation: a second resume is a conflict, and closing releases it', async () => {
    const { user, url } = await setup()
    const starter = open(`${url}?token=${user.accessToken}`)
    await starter.opened
    const baseline = subscriptions.open()
    starter.send({ type: 'message', content: 'Long [[emulator tokens=2000 delay=5]]' })
    const started = await starter.next((m) => m.event === 'generation.started')
    const generationId = started.data.generationId

    const resumer = open(`${url}?token=${user.accessToken}`)
    await resumer.opened
    for (let i = 0; i < 40; i++) resumer.send({ type: 'resume', generationId, after: 0 })
    await eventually(() => resumer.received.filter((m) => m.event === 'error').length >= 39, '39 conflicts')
    const errors = resumer.received.filter((m) => m.event === 'error')
    expect(errors).toHaveLength(39)
    expect(new Set(errors.map((m) => m.data.code))).toEqual(new Set(['conflict']))
    // The starter's follower and one for the resumer: not 41.
    expect(subscriptions.open() - baseline).toBe(2)
    const replayed = await resumer.next((m) => m.event === 'text.delta' && (m.id ?? 0) >= 10)
    expect(resumer.received.filter((m) => m.id === replayed.id)).toHaveLength(1)

    resumer.ws.close()
    await eventually(() => subscriptions.open() - baseline === 1, "the closed socket's follower to be released")
    starter.send({ type: 'cancel' })
    await starter.next((m) => m.event === 'generation.cancelled')
    starter.ws.close()
    await eventually(() => subscriptions.open() === baseline, 'every follower to be released')
  })

  it('refuses a frame longer than MAX_TURN_BODY_BYTES from its header, without waiting for the payload (1009)', async () => {
    const { user, url } = await setup()
    const socket = open(`${url}?token=${user.accessToken}`)
    await socket.opened
    // A masked text frame announcing MAX_TURN_BODY_BYTES + 1 bytes (64-bit length), followed by a few bytes only:
    // a server that buffers frames up to its own limit would wait for the rest and never answer.
    const header = Buffer.alloc(14)
    header[0] = 0x81
    header[1] = 0x80 | 127
    header.writeBigUInt64BE(BigInt(t.config.MAX_TURN_BODY_BYTES + 1), 2)
    const tcp = (socket.ws as unknown as { _socket: import('node:net').Socket })._socket
    tcp.write(Buffer.concat([header, Buffer.from('{"type":"message"')]))
    expect((await within(socket.closed, 'the server to close the socket')).code).toBe(1009)
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
