/**
 * The decisive Redis test: two REAL Node server processes (src/entries/node.ts under tsx) sharing one SQLite file
 * and one Redis (the redis-server on 127.0.0.1:6379 through the Upstash REST bridge, STREAM_STATE=redis). A turn
 * started on A is followed live, resumed with Last-Event-ID and cancelled through B; A's producer stops, every
 * stream sees `generation.cancelled`, and the stored message ends `cancelled`. Fails (not skips) without Redis.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STEP_TIMEOUT_MS, SseReader, startServer, type Server } from './server-processes'
import { startRedisBridge, type RedisBridge } from '../redis-bridge/bridge'

const JWT_SECRET = 'two-process-test-secret-'.padEnd(48, 'x')
/** Production shows the details of /ready only to this bearer token. */
const METRICS_TOKEN = 'two-process-metrics-token-0123'
/** Slow enough (≈ 4.5 s) that following, resuming and cancelling through B all happen mid-stream. */
const SLOW_TURN = 'Tell me a long story [[emulator tokens=150 delay=30]]'
/** A turn that outlasts a process start (≈ 9 s). */
const LONG_TURN = 'Tell me an even longer story [[emulator tokens=300 delay=30]]'
/** Short, so a killed owner is noticed quickly. */
const STALE_SECONDS = 3

const servers: Server[] = []
const readers: SseReader[] = []
let bridge: RedisBridge | undefined
let dir = ''

afterAll(async () => {
  if (process.env.TWO_PROCESS_OUTPUT) for (const server of servers) console.log(server.output())
  for (const reader of readers) await reader.cancel()
  await Promise.all(servers.map((server) => server.stop()))
  await bridge?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('two Node processes sharing one database and one Redis', () => {
  let a: Server
  let b: Server
  let env: Record<string, string> = {}
  let token = ''

  const call = async (server: Server, method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) =>
    fetch(`${server.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    })

  const stream = async (server: Server, method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'text/event-stream',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    })
    expect(res.status, `${method} ${path}: ${res.status}`).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = new SseReader(res)
    readers.push(reader)
    return reader
  }

  beforeAll(async () => {
    bridge = await startRedisBridge()
    dir = mkdtempSync(join(tmpdir(), 'edgechat-two-process-'))
    env = {
      NODE_ENV: 'production',
      BEDROCK_EMULATOR: 'on',
      DATABASE_URL: `file:${join(dir, 'edgechat.db')}`,
      JWT_SECRET,
      METRICS_TOKEN,
      LOG_LEVEL: 'warn',
      STREAM_STATE: 'redis',
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
      STREAM_RETENTION_SECONDS: '120',
      STREAM_STALE_SECONDS: String(STALE_SECONDS),
    }
    // One after the other: the first applies the migrations to the shared file.
    a = await startServer('A', env, servers)
    b = await startServer('B', env, servers)
    const registered = await fetch(`${a.baseUrl}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'two-process@example.com', password: 'correct horse battery staple', name: 'Two' }),
    })
    if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`)
    token = ((await registered.json()) as { accessToken: string }).accessToken
  })

  it('reports Redis in /ready on both', async () => {
    for (const server of [a, b]) {
      const res = await fetch(`${server.baseUrl}/ready`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      const body = (await res.json()) as { checks: Record<string, { status: string }> }
      expect(res.status, `${server.name}: ${JSON.stringify(body)}\n${server.output()}`).toBe(200)
      expect(body.checks.streamState).toMatchObject({ status: 'ok' })
    }
  })

  it('follows, resumes and cancels through B a turn started on A', async () => {
    const created = await call(a, 'POST', '/v1/conversations', { body: {} })
    expect(created.status).toBe(201)
    const conversationId = ((await created.json()) as { id: string }).id

    // A: the turn, streamed to its own client (which stays connected throughout).
    const onA = await stream(a, 'POST', `/v1/conversations/${conversationId}/messages`, { body: { content: SLOW_TURN } })
    const [startedEvent] = await onA.waitFor((events) => events.length >= 1, 'generation.started on A')
    expect(startedEvent!.event).toBe('generation.started')
    const generationId = String(startedEvent!.data.generationId)
    const assistantMessageId = String(startedEvent!.data.assistantMessageId)

    // B: the conversation's live stream, replayed from the start then followed.
    const followed = await stream(b, 'GET', `/v1/conversations/${conversationId}/stream`)
    await followed.waitFor((events) => events.filter((e) => e.event === 'text.delta').length >= 5, 'five deltas followed on B')
    expect(followed.events[0]).toMatchObject({ id: 1, event: 'generation.started', data: { generationId } })

    // B: resume from a cursor with Last-Event-ID: the next event is cursor + 1, nothing before it.
    const cursor = 4
    const resumed = await stream(b, 'GET', `/v1/generations/${generationId}/events`, { headers: { 'last-event-id': String(cursor) } })
    await resumed.waitFor((events) => events.length >= 3, 'three events resumed on B')
    expect(resumed.events[0]!.id).toBe(cursor + 1)

    // The generation is still running on A (B only follows it) …
    const beforeCancel = await call(b, 'GET', `/v1/generations/${generationId}`)
    expect(((await beforeCancel.json()) as { status: string }).status).toBe('running')
    expect(onA.events.some((e) => e.event.startsWith('generation.') && e.event !== 'generation.started')).toBe(false)

    // … and B cancels it: the cancel travels through Redis to A's producer.
    const cancelled = await call(b, 'POST', `/v1/generations/${generationId}/cancel`)
    expect(cancelled.status, await cancelled.clone().text()).toBe(202)

    const [fromA, fromB, fromResume] = await Promise.all([onA.end(), followed.end(), resumed.end()])
    for (const events of [fromA, fromB, fromResume]) {
      expect(events.at(-1)).toMatchObject({ event: 'generation.cancelled', data: { generationId } })
      expect(events.filter((e) => e.event.startsWith('generation.') && e.event !== 'generation.started')).toHaveLength(1)
      expect(events.map((e) => e.id)).toEqual(events.map((_, i) => events[0]!.id + i))
    }
    // One sequence, seen the same from both processes and from the cursor.
    expect(fromB).toEqual(fromA)
    expect(fromResume).toEqual(fromA.slice(cursor))
    const deltas = fromA.filter((e) => e.event === 'text.delta')
    expect(deltas.length).toBeGreaterThanOrEqual(5)
    expect(deltas.length).toBeLessThan(150) // stopped mid-way: A's producer was aborted

    // The stored outcome, read through B: the partial answer, cancelled.
    const generation = (await (await call(b, 'GET', `/v1/generations/${generationId}`)).json()) as { status: string }
    expect(generation.status).toBe('cancelled')
    const messages = (await (await call(b, 'GET', `/v1/conversations/${conversationId}/messages`)).json()) as {
      data: { id: string; role: string; status: string; parts: { type: string; text?: string }[] }[]
    }
    const assistant = messages.data.find((message) => message.id === assistantMessageId)
    expect(assistant).toMatchObject({ role: 'assistant', status: 'cancelled' })
    expect(assistant!.parts.filter((part) => part.type === 'text').map((part) => part.text).join('')).toBe(
      deltas.map((e) => e.data.delta).join(''),
    )
    const conversation = (await (await call(b, 'GET', `/v1/conversations/${conversationId}`)).json()) as { activeGenerationId: string | null }
    expect(conversation.activeGenerationId).toBeNull()
    // Finished: a second cancel is refused, from either side.
    expect((await call(a, 'POST', `/v1/generations/${generationId}/cancel`)).status).toBe(409)
    expect((await call(b, 'POST', `/v1/generations/${generationId}/cancel`)).status).toBe(409)
  })

  it('lets B replay a finished generation from Redis, from any cursor', async () => {
    const created = await call(a, 'POST', '/v1/conversations', { body: {} })
    const conversationId = ((await created.json()) as { id: string }).id
    const onA = await stream(a, 'POST', `/v1/conversations/${conversationId}/messages`, { body: { content: 'short [[emulator tokens=8]]' } })
    const all = await onA.end()
    expect(all.at(-1)!.event).toBe('generation.completed')
    const generationId = String(all[0]!.data.generationId)
    const replay = await stream(b, 'GET', `/v1/generations/${generationId}/events?after=3`)
    expect(await replay.end()).toEqual(all.slice(3))
  })

  const newConversation = async (server: Server) => {
    const created = await call(server, 'POST', '/v1/conversations', { body: {} })
    expect(created.status).toBe(201)
    return ((await created.json()) as { id: string }).id
  }

  it('a third process starting mid-generation leaves the generation running (its start-up sweep spares it)', async () => {
    const conversationId = await newConversation(a)
    const onA = await stream(a, 'POST', `/v1/conversations/${conversationId}/messages`, { body: { content: LONG_TURN } })
    const [startedEvent] = await onA.waitFor((events) => events.length >= 1, 'generation.started on A')
    const generationId = String(startedEvent!.data.generationId)
    // With the memory hub, a process starting on this database would finalize every `running` generation.
    const c = await startServer('C', env, servers)
    try {
      const seen = await call(c, 'GET', `/v1/generations/${generationId}`)
      expect(((await seen.json()) as { status: string }).status, c.output()).toBe('running')
      expect(onA.done).toBe(false)
      const events = await onA.end(20_000)
      expect(events.at(-1)).toMatchObject({ event: 'generation.completed', data: { generationId } })
      expect(events.filter((e) => e.event === 'text.delta')).toHaveLength(300)
      const generation = (await (await call(c, 'GET', `/v1/generations/${generationId}`)).json()) as { status: string }
      expect(generation.status).toBe('completed')
    } finally {
      await c.stop()
    }
  })

  it('fails a killed owner’s generation for followers on B, and B finalizes it as interrupted', async () => {
    const conversationId = await newConversation(a)
    const onA = await stream(a, 'POST', `/v1/conversations/${conversationId}/messages`, { body: { content: LONG_TURN } })
    const [startedEvent] = await onA.waitFor((events) => events.length >= 1, 'generation.started on A')
    const generationId = String(startedEvent!.data.generationId)
    const assistantMessageId = String(startedEvent!.data.assistantMessageId)
    const followed = await stream(b, 'GET', `/v1/conversations/${conversationId}/stream`)
    await followed.waitFor((events) => events.filter((e) => e.event === 'text.delta').length >= 40, '40 deltas followed on B')

    const killedAt = Date.now()
    process.kill(-a.child.pid!, 'SIGKILL') // A dies mid-generation: no terminal event, no more heartbeats
    await a.closed
    const events = await followed.end(STALE_SECONDS * 1000 + 20_000)
    expect(Date.now() - killedAt).toBeLessThan(STALE_SECONDS * 1000 + 20_000)
    expect(events.at(-1)).toMatchObject({ event: 'generation.failed', data: { generationId, code: 'interrupted' } })
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1))

    // Reading the conversation through B finalizes it: the partial answer kept (up to A's last checkpoint).
    const conversation = (await (await call(b, 'GET', `/v1/conversations/${conversationId}`)).json()) as { activeGenerationId: string | null }
    expect(conversation.activeGenerationId).toBeNull()
    const generation = (await (await call(b, 'GET', `/v1/generations/${generationId}`)).json()) as { status: string; errorCode?: string }
    expect(generation.status).toBe('failed')
    const messages = (await (await call(b, 'GET', `/v1/conversations/${conversationId}/messages`)).json()) as {
      data: { id: string; status: string; parts: { type: string; text?: string }[] }[]
    }
    const assistant = messages.data.find((message) => message.id === assistantMessageId)!
    expect(assistant.status).toBe('incomplete')
    const streamed = events.filter((e) => e.event === 'text.delta').map((e) => String(e.data.delta)).join('')
    const kept = assistant.parts.filter((part) => part.type === 'text').map((part) => part.text).join('')
    expect(streamed.startsWith(kept)).toBe(true)
  })

  it('answers /ready with 503 when Redis is unreachable', async () => {
    await bridge!.close()
    bridge = undefined
    const res = await fetch(`${b.baseUrl}/ready`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    const body = (await res.json()) as { checks: Record<string, { status: string }> }
    expect(res.status).toBe(503)
    expect(body.checks.streamState).toMatchObject({ status: 'error' })
    expect(body.checks.database).toMatchObject({ status: 'ok' })
  })
})
