import { env, exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { ORIGIN, call, register } from './helpers'

interface Received {
  id?: number
  event: string
  data: Record<string, unknown>
}

/** Opens the conversation socket through the Worker entry and records what the server sends. */
async function open(path: string, headers: Record<string, string> = {}) {
  const response = await exports.default.fetch(`${ORIGIN}${path}`, { headers: { upgrade: 'websocket', ...headers } })
  const ws = response.webSocket
  if (!ws) return { response, ws: null, received: [] as Received[], next: async () => null as unknown as Received }
  ws.accept()
  const received: Received[] = []
  ws.addEventListener('message', (event) => {
    received.push(JSON.parse(String(event.data)) as Received)
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason })))
  const next = async (predicate: (m: Received) => boolean, ms = 5_000): Promise<Received> => {
    const deadline = Date.now() + ms
    for (;;) {
      const found = received.find(predicate)
      if (found) return found
      if (Date.now() > deadline) throw new Error(`no matching message; got ${JSON.stringify(received.map((m) => m.event))}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  return { response, ws, received, next, closed }
}

describe('WebSocket under workerd', () => {
  it('runs a turn, answers a bad frame with an error event, and accepts the token as a protocol', async () => {
    const user = await register('ws')
    const conv = (await call('POST', '/v1/conversations', { token: user.accessToken, json: {} })).body
    const socket = await open(`/v1/conversations/${conv.id}/ws?token=${user.accessToken}`)
    expect(socket.response.status).toBe(101)
    socket.ws!.send('not json')
    const invalid = await socket.next((m) => m.event === 'error')
    expect(invalid.data).toMatchObject({ code: 'validation_failed', errors: [{ path: '', message: 'Malformed JSON' }] })
    socket.ws!.send(JSON.stringify({ type: 'message', content: 'Socket on the edge [[emulator tokens=3]]' }))
    const done = await socket.next((m) => m.event === 'generation.completed')
    expect(done.data.usage).toMatchObject({ outputTokens: 3 })
    const events = socket.received.filter((m) => m.id !== undefined)
    expect(events.map((m) => m.id)).toEqual(events.map((_, i) => i + 1))
    socket.ws!.close()

    const byProtocol = await open(`/v1/conversations/${conv.id}/ws`, { 'sec-websocket-protocol': `bearer, ${user.accessToken}` })
    expect(byProtocol.response.status).toBe(101)
    expect(byProtocol.response.headers.get('sec-websocket-protocol')).toBe('bearer')
    byProtocol.ws!.close()
  })

  it('answers a second follower of a generation with a conflict, and closes a deleted API key’s socket (4401)', async () => {
    const user = await register('ws-key')
    const conv = (await call('POST', '/v1/conversations', { token: user.accessToken, json: {} })).body
    const key = (await call('POST', '/v1/api-keys', { token: user.accessToken, json: { name: 'edge socket' } })).body
    const socket = await open(`/v1/conversations/${conv.id}/ws?token=${key.key}`)
    expect(socket.response.status).toBe(101)
    socket.ws!.send(JSON.stringify({ type: 'message', content: 'Keyed [[emulator tokens=2000 delay=10]]' }))
    const started = await socket.next((m) => m.event === 'generation.started')
    // The socket follows the generation it started until its end: a resume of it is refused.
    socket.ws!.send(JSON.stringify({ type: 'resume', generationId: started.data.generationId, after: 0 }))
    await socket.next((m) => m.event === 'error' && m.data.code === 'conflict')
    socket.ws!.send(JSON.stringify({ type: 'cancel' }))
    await socket.next((m) => m.event === 'generation.cancelled')

    expect((await call('DELETE', `/v1/api-keys/${key.id}`, { token: user.accessToken })).status).toBe(204)
    socket.ws!.send(JSON.stringify({ type: 'message', content: 'After the delete [[emulator tokens=2]]' }))
    expect(await socket.closed).toEqual({ code: 4401, reason: 'Credentials revoked' })
    const { results } = await env.DB.prepare('SELECT id FROM generations WHERE conversation_id = ?').bind(conv.id).all()
    expect(results).toHaveLength(1)
  })

  it('refuses the upgrade with 401 without a token and 404 for a stranger', async () => {
    const user = await register('ws-owner')
    const stranger = await register('ws-stranger')
    const conv = (await call('POST', '/v1/conversations', { token: user.accessToken, json: {} })).body
    expect((await open(`/v1/conversations/${conv.id}/ws`)).response.status).toBe(401)
    expect((await open(`/v1/conversations/${conv.id}/ws?token=${stranger.accessToken}`)).response.status).toBe(404)
  })
})
