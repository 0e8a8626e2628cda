import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CloseCode } from '../../src/routes/realtime/socket-options'
import { TEST_SECRET, type TestApp } from '../helpers'
import { open, startSocketServer, within } from '../websocket-client'

type Server = Awaited<ReturnType<typeof startSocketServer>>
type User = Awaited<ReturnType<TestApp['register']>>

/** The app's clock runs this far ahead of real time (to expire tokens without waiting). */
let clockOffset = 0
/** Default limits: a socket is re-checked on its frames and at its token's expiry, every 30 s otherwise. */
let server: Server
/** Re-checks every 200 ms: for sockets that only follow and never send. */
let polling: Server

beforeAll(async () => {
  const now = () => new Date(Date.now() + clockOffset)
  server = await startSocketServer({}, { now })
  polling = await startSocketServer({}, {}, { limits: { recheckMs: 200 } })
})
afterAll(async () => {
  await server.close()
  await polling.close()
})

async function conversationOf(s: Server, user: User, body: Record<string, unknown> = {}) {
  const res = await s.t.request('POST', '/v1/conversations', { token: user.accessToken, body })
  expect(res.status).toBe(201)
  return (await res.json()) as { id: string }
}

async function createKey(s: Server, user: User) {
  const res = await s.t.request('POST', '/v1/api-keys', { token: user.accessToken, body: { name: 'socket' } })
  expect(res.status).toBe(201)
  return (await res.json()) as { id: string; key: string }
}

async function generationCount(s: Server, conversationId: string): Promise<number> {
  const rows = await s.t.client.execute({ sql: 'select count(*) as n from generations where conversation_id = ?', args: [conversationId] })
  return Number(rows.rows[0]!.n)
}

/** A shared conversation in a team workspace, and a member who can see it. */
async function team(s: Server) {
  const owner = await s.t.register('owner')
  const member = await s.t.register('member')
  const workspace = await (await owner.call('POST', '/v1/workspaces', { body: { name: 'Team' } })).json()
  // Joined directly: how members join (invitations) is not this file's concern.
  await s.t.client.execute({
    sql: "insert into memberships (workspace_id, user_id, role, created_at) values (?, ?, 'member', ?)",
    args: [workspace.id, member.user.id, Date.now()],
  })
  const conv = await conversationOf(s, owner, { workspaceId: workspace.id, visibility: 'workspace' })
  const removeMember = async () =>
    expect((await owner.call('DELETE', `/v1/workspaces/${workspace.id}/members/${member.user.id}`)).status).toBe(204)
  return { owner, member, conv, removeMember }
}

describe('WebSocket revocation', () => {
  it('closes a deleted API key’s socket (4401) and does not start its turn', async () => {
    const user = await server.t.register()
    const conv = await conversationOf(server, user)
    const key = await createKey(server, user)
    const socket = open(`${server.base}/v1/conversations/${conv.id}/ws?token=${key.key}`)
    await socket.opened
    socket.send({ type: 'message', content: 'With a key [[emulator tokens=2]]' })
    await socket.next((m) => m.event === 'generation.completed')

    expect((await user.call('DELETE', `/v1/api-keys/${key.id}`)).status).toBe(204)
    expect((await server.t.request('GET', '/v1/me', { token: key.key })).status).toBe(401)
    socket.send({ type: 'message', content: 'After the delete [[emulator tokens=2]]' })
    expect(await within(socket.closed, 'the socket to close')).toEqual({ code: CloseCode.unauthorized, reason: 'Credentials revoked' })
    expect(await generationCount(server, conv.id)).toBe(1)
  })

  it('closes a socket whose access token expired (4401) when it sends, without starting the turn', async () => {
    const user = await server.t.register()
    const conv = await conversationOf(server, user)
    const socket = open(`${server.base}/v1/conversations/${conv.id}/ws?token=${user.accessToken}`)
    await socket.opened
    clockOffset = (server.t.config.ACCESS_TOKEN_TTL + 60) * 1000
    try {
      socket.send({ type: 'message', content: 'Too late [[emulator tokens=2]]' })
      expect(await within(socket.closed, 'the socket to close')).toEqual({ code: CloseCode.unauthorized, reason: 'Token expired' })
    } finally {
      clockOffset = 0
    }
    expect(await generationCount(server, conv.id)).toBe(0)
  })

  it('closes an idle socket when its access token expires (a timer at `exp`)', async () => {
    const user = await server.t.register()
    const conv = await conversationOf(server, user)
    const exp = Math.floor(Date.now() / 1000) + 2
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.user.id)
      .setJti(crypto.randomUUID())
      .setIssuer('edgechat')
      .setAudience('edgechat-api')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(TEST_SECRET))
    const socket = open(`${server.base}/v1/conversations/${conv.id}/ws?token=${token}`)
    await socket.opened
    // Nothing is sent, and the periodic re-check is 30 s away: only the expiry timer can close it now.
    expect(await within(socket.closed, 'the socket to close', 25_000)).toEqual({ code: CloseCode.unauthorized, reason: 'Token expired' })
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000)
  })

  it('closes the socket of a member removed from the workspace (4403) when it sends', async () => {
    const { owner, member, conv, removeMember } = await team(server)
    const ownerSocket = open(`${server.base}/v1/conversations/${conv.id}/ws?token=${owner.accessToken}`)
    await ownerSocket.opened
    ownerSocket.send({ type: 'message', content: 'For the team [[emulator tokens=2]]' })
    const done = await ownerSocket.next((m) => m.event === 'generation.completed')
    ownerSocket.ws.close()

    const socket = open(`${server.base}/v1/conversations/${conv.id}/ws?token=${member.accessToken}`)
    await socket.opened
    socket.send({ type: 'resume', generationId: done.data.generationId, after: 0 })
    await socket.next((m) => m.event === 'generation.completed')
    await removeMember()
    socket.send({ type: 'resume', generationId: done.data.generationId, after: 0 })
    expect(await within(socket.closed, 'the socket to close')).toEqual({ code: CloseCode.forbidden, reason: 'Access to this conversation was revoked' })
    expect(socket.received.filter((m) => m.event === 'generation.completed')).toHaveLength(1)
  })

  it('closes sockets that only follow: a removed member (4403) and a deleted key (4401), by the periodic re-check', async () => {
    const { owner, member, conv, removeMember } = await team(polling)
    const ownerSocket = open(`${polling.base}/v1/conversations/${conv.id}/ws?token=${owner.accessToken}`)
    await ownerSocket.opened
    ownerSocket.send({ type: 'message', content: 'Long one [[emulator tokens=5000 delay=5]]' })
    const started = await ownerSocket.next((m) => m.event === 'generation.started')

    const follower = open(`${polling.base}/v1/conversations/${conv.id}/ws?token=${member.accessToken}`)
    await follower.opened
    follower.send({ type: 'resume', generationId: started.data.generationId, after: 0 })
    await follower.next((m) => m.event === 'text.delta')
    await removeMember()
    expect(await within(follower.closed, 'the follower to close')).toEqual({ code: CloseCode.forbidden, reason: 'Access to this conversation was revoked' })

    const key = await createKey(polling, owner)
    const keySocket = open(`${polling.base}/v1/conversations/${conv.id}/ws?token=${key.key}`)
    await keySocket.opened
    keySocket.send({ type: 'resume', generationId: started.data.generationId, after: 0 })
    await keySocket.next((m) => m.event === 'text.delta')
    expect((await owner.call('DELETE', `/v1/api-keys/${key.id}`)).status).toBe(204)
    expect(await within(keySocket.closed, 'the key socket to close')).toEqual({ code: CloseCode.unauthorized, reason: 'Credentials revoked' })

    ownerSocket.send({ type: 'cancel' })
    await ownerSocket.next((m) => m.event === 'generation.cancelled')
    ownerSocket.ws.close()
  })
})
