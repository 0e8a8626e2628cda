/**
 * Two REAL Node server processes (src/entries/node.ts under tsx) sharing one SQLite file with the memory hub
 * (STREAM_STATE=memory), as in a rolling deploy or `npm start` run twice. A process only finalizes generations whose
 * owner's heartbeat in the database went stale: B starting and reading A's conversation mid-turn leaves A's turn
 * alone, and a killed A's turn is finalized by B once A's heartbeat is stale.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STEP_TIMEOUT_MS, SseReader, startServer, type Server } from './server-processes'

const JWT_SECRET = 'two-process-test-secret-'.padEnd(48, 'x')
/** A turn that outlasts a process start and the stale window (≈ 18 s). */
const LONG_TURN = 'Tell me an even longer story [[emulator tokens=600 delay=30]]'
/** Short, so a killed owner is noticed quickly. */
const STALE_SECONDS = 3

const servers: Server[] = []
const readers: SseReader[] = []
let dir = ''

afterAll(async () => {
  if (process.env.TWO_PROCESS_OUTPUT) for (const server of servers) console.log(server.output())
  for (const reader of readers) await reader.cancel()
  await Promise.all(servers.map((server) => server.stop()))
  if (dir) rmSync(dir, { recursive: true, force: true })
})

interface StoredMessage {
  id: string
  status: string
  stopReason?: string | null
  parts: { type: string; text?: string }[]
}

describe('two Node processes sharing one database with the memory hub', () => {
  let a: Server
  let b: Server
  let env: Record<string, string> = {}
  let token = ''

  const call = async (server: Server, method: string, path: string, body?: unknown) =>
    fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    })
  const json = async <T>(server: Server, path: string): Promise<T> => {
    const res = await call(server, 'GET', path)
    expect(res.status, `GET ${path}: ${await res.clone().text()}`).toBe(200)
    return (await res.json()) as T
  }

  const turn = async (server: Server, conversationId: string, content: string) => {
    const res = await fetch(`${server.baseUrl}/v1/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ content }),
    })
    expect(res.status).toBe(200)
    const reader = new SseReader(res)
    readers.push(reader)
    const [started] = await reader.waitFor((events) => events.length >= 1, `generation.started on ${server.name}`)
    expect(started!.event).toBe('generation.started')
    return { reader, generationId: String(started!.data.generationId), assistantMessageId: String(started!.data.assistantMessageId) }
  }

  const newConversation = async (server: Server) => {
    const created = await call(server, 'POST', '/v1/conversations', {})
    expect(created.status).toBe(201)
    return ((await created.json()) as { id: string }).id
  }

  const assistantMessage = async (server: Server, conversationId: string, id: string) =>
    (await json<{ data: StoredMessage[] }>(server, `/v1/conversations/${conversationId}/messages`)).data.find((message) => message.id === id)!

  const text = (message: StoredMessage) => message.parts.filter((part) => part.type === 'text').map((part) => part.text).join('')

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgechat-two-process-memory-'))
    env = {
      NODE_ENV: 'production',
      BEDROCK_EMULATOR: 'on',
      DATABASE_URL: `file:${join(dir, 'edgechat.db')}`,
      JWT_SECRET,
      LOG_LEVEL: 'warn',
      STREAM_STATE: 'memory',
      STREAM_RETENTION_SECONDS: '120',
      STREAM_STALE_SECONDS: String(STALE_SECONDS),
    }
    a = await startServer('A', env, servers)
    const registered = await fetch(`${a.baseUrl}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'two-process-memory@example.com', password: 'correct horse battery staple', name: 'Two' }),
    })
    if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`)
    token = ((await registered.json()) as { accessToken: string }).accessToken
  })

  it('a second process starting and reading mid-turn leaves the first one’s turn alone', async () => {
    const conversationId = await newConversation(a)
    const onA = await turn(a, conversationId, LONG_TURN)
    await onA.reader.waitFor((events) => events.filter((e) => e.event === 'text.delta').length >= 10, 'ten deltas on A')

    // B starts (its start-up sweep runs) and reads the conversation, the generation and the messages (finalize on
    // read) while A's producer is still streaming, past the stale window.
    b = await startServer('B', env, servers)
    const readUntil = Date.now() + (STALE_SECONDS + 1) * 1000
    do {
      const conversation = await json<{ activeGenerationId: string | null }>(b, `/v1/conversations/${conversationId}`)
      expect(conversation.activeGenerationId, b.output()).toBe(onA.generationId)
      expect((await json<{ status: string }>(b, `/v1/generations/${onA.generationId}`)).status).toBe('running')
      expect((await assistantMessage(b, conversationId, onA.assistantMessageId)).status).toBe('streaming')
      await new Promise((r) => setTimeout(r, 250))
    } while (Date.now() < readUntil && !onA.reader.done)
    expect(onA.reader.done).toBe(false)

    const events = await onA.reader.end(30_000)
    expect(events.at(-1)).toMatchObject({ event: 'generation.completed', data: { generationId: onA.generationId } })
    const deltas = events.filter((e) => e.event === 'text.delta')
    expect(deltas).toHaveLength(600)
    // Stored whole, read through B.
    expect((await json<{ status: string }>(b, `/v1/generations/${onA.generationId}`)).status).toBe('completed')
    const stored = await assistantMessage(b, conversationId, onA.assistantMessageId)
    expect(stored.status).toBe('complete')
    expect(text(stored)).toBe(deltas.map((e) => String(e.data.delta)).join(''))
    expect((await json<{ activeGenerationId: string | null }>(b, `/v1/conversations/${conversationId}`)).activeGenerationId).toBeNull()
  })

  it('B finalizes a killed A’s turn as interrupted once A’s heartbeat is stale, not before', async () => {
    const conversationId = await newConversation(a)
    const onA = await turn(a, conversationId, LONG_TURN)
    await onA.reader.waitFor((events) => events.filter((e) => e.event === 'text.delta').length >= 20, 'twenty deltas on A')

    process.kill(-a.child.pid!, 'SIGKILL') // no terminal event, no more heartbeats
    await a.closed
    const killedAt = Date.now()
    // Still A's as long as its last heartbeat is fresh.
    const early = await json<{ activeGenerationId: string | null }>(b, `/v1/conversations/${conversationId}`)
    if (Date.now() - killedAt < (STALE_SECONDS - 1) * 1000) expect(early.activeGenerationId).toBe(onA.generationId)

    const deadline = Date.now() + STALE_SECONDS * 1000 + 8_000
    for (;;) {
      const conversation = await json<{ activeGenerationId: string | null }>(b, `/v1/conversations/${conversationId}`)
      if (conversation.activeGenerationId === null) break
      if (Date.now() > deadline) throw new Error(`B never finalized the killed turn\n${b.output()}`)
      await new Promise((r) => setTimeout(r, 250))
    }
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual((STALE_SECONDS - 1) * 1000)
    const generation = await json<{ status: string; errorCode?: string }>(b, `/v1/generations/${onA.generationId}`)
    expect(generation.status).toBe('failed')
    const stored = await assistantMessage(b, conversationId, onA.assistantMessageId)
    expect(stored.status).toBe('incomplete')
    const streamed = onA.reader.events.filter((e) => e.event === 'text.delta').map((e) => String(e.data.delta)).join('')
    expect(streamed.startsWith(text(stored))).toBe(true)
  })
})
