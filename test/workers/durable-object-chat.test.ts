// Chat turns through the Worker entry with the Durable Object hub, inside workerd: real DO SQLite storage, real D1,
// the in-process Bedrock emulator. The generation runs in the conversation's GenerationObject, so it outlives the
// request that started it; other requests follow, resume and cancel it through the object.
//
// The test bindings pin STREAM_STATE=memory for the other workers tests (vitest.workers.config.ts); these requests
// go to the entry with a copy of the env without it, so the entry picks the hub the way a deploy does: by the
// GENERATIONS binding. Every call of a scenario goes through that env's app (one hub per env object).
import { abortAllDurableObjects, createExecutionContext, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import worker, { type WorkerEnv } from '../../src/entries/worker'
import { localTasks } from '../../src/entries/generation-object'
import { HEARTBEAT_MS } from '../../src/stream/durable-object-store'
import type { GenerationTask, ProducerContext } from '../../src/stream/hub'
import { parseSse, readRest, readSseUntil, type ParsedEvent } from '../sse'
import { ORIGIN, readReply, register, until, type Json, type Registered } from './helpers'

const doEnv: WorkerEnv = { ...env }
delete doEnv.STREAM_STATE

interface Options {
  token?: string
  json?: unknown
  headers?: Record<string, string>
}

/** One request to the Worker entry with the Durable Object env (the body is not awaited: SSE is read as it comes). */
function send(method: string, path: string, { token, json, headers: extra }: Options = {}): Promise<Response> {
  const headers = new Headers(extra)
  if (token) headers.set('authorization', `Bearer ${token}`)
  if (json !== undefined) headers.set('content-type', 'application/json')
  const init: RequestInit = { method, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) }
  return Promise.resolve(worker.fetch(new Request(`${ORIGIN}${path}`, init), doEnv, createExecutionContext()))
}

const call = async (method: string, path: string, options: Options = {}) => readReply(await send(method, path, options))


const deltas = (events: ParsedEvent[]) => events.filter((e) => e.event === 'text.delta').map((e) => String(e.data.delta)).join('')
const ids = (events: ParsedEvent[]) => events.map((e) => e.id)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

async function storedAssistant(conversationId: string) {
  const row = await env.DB.prepare("SELECT id, parts, status, output_tokens, stop_reason FROM messages WHERE conversation_id = ? AND role = 'assistant' ORDER BY id DESC")
    .bind(conversationId)
    .first<{ id: string; parts: string; status: string; output_tokens: number | null; stop_reason: string | null }>()
  const text = (JSON.parse(row!.parts) as { type: string; text?: string }[]).map((part) => part.text ?? '').join('')
  return { ...row!, text }
}

const storedGeneration = (id: string) =>
  env.DB.prepare('SELECT status, error_code, output_tokens FROM generations WHERE id = ?').bind(id).first<{ status: string; error_code: string | null; output_tokens: number | null }>()

const activeGeneration = async (conversationId: string) =>
  (await env.DB.prepare('SELECT active_generation_id AS id FROM conversations WHERE id = ?').bind(conversationId).first<{ id: string | null }>())?.id ?? null

const objectOf = (conversationId: string) => env.GENERATIONS.get(env.GENERATIONS.idFromName(conversationId))

/** The object's stored event rows for a generation: how many, how many events, the largest row. */
function storedRows(conversationId: string, generationId: string) {
  return runInDurableObject(objectOf(conversationId), (_instance, state) =>
    state.storage.sql
      .exec<{ rows: number; events: number; largest: number }>(
        'SELECT count(*) AS rows, coalesce(sum(last_seq - first_seq + 1), 0) AS events, coalesce(max(length(events)), 0) AS largest FROM hub_events WHERE generation_id = ?',
        generationId,
      )
      .one(),
  )
}

async function newConversation(user: Registered): Promise<Json> {
  const reply = await call('POST', '/v1/conversations', { token: user.accessToken, json: {} })
  expect(reply.status, reply.text).toBe(201)
  return reply.body
}

describe('workers: the Durable Object hub behind the API', () => {
  let user: Registered
  beforeAll(async () => {
    user = await register('durable')
  })

  it('the entry selects the Durable Object hub when the GENERATIONS binding exists', async () => {
    const conv = await newConversation(user)
    const res = await send('POST', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken, json: { content: 'Which hub? [[emulator tokens=3]]' } })
    const events = parseSse(await res.text()).events
    expect(events.at(-1)!.event).toBe('generation.completed')
    // The events live in the conversation's object, not in the isolate.
    expect(await storedRows(conv.id, String(events[0]!.data.generationId))).toMatchObject({ events: events.length })
  })

  it('a turn outlives its client: a second client attaches mid-stream, a third resumes from a cursor, D1 holds the answer', async () => {
    const conv = await newConversation(user)
    const res = await send('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: 'Survive my client [[emulator tokens=100 delay=10]]' },
    })
    expect(res.status).toBe(200)
    const starter = await readSseUntil(res, (e) => e.event === 'generation.started')
    const generationId = String(starter.events[0]!.data.generationId)
    await starter.reader.cancel() // the starting client goes away after the first event

    // A second client attaches to the conversation's running generation from the start, and leaves mid-stream.
    const attach = await send('GET', `/v1/conversations/${conv.id}/stream`, { token: user.accessToken })
    expect(attach.status).toBe(200)
    const second = await readSseUntil(attach, (e) => e.event === 'text.delta' && e.id >= 30)
    await second.reader.cancel()
    expect(ids(second.events)).toEqual(range(1, second.events.length))
    expect(second.events.at(-1)!.event).not.toMatch(/^generation\.(completed|failed|cancelled)$/)
    const cursor = second.events.at(-1)!.id

    // A third resumes after the second's last event, as EventSource does on reconnect.
    const resume = await send('GET', `/v1/generations/${generationId}/events`, { token: user.accessToken, headers: { 'last-event-id': String(cursor) } })
    expect(resume.status).toBe(200)
    const rest = parseSse(await resume.text()).events
    const all = [...second.events, ...rest]
    expect(ids(all)).toEqual(range(1, all.length))
    expect(all.map((e) => e.event)).toEqual(['generation.started', ...Array(100).fill('text.delta'), 'usage', 'generation.completed'])

    // The object wrote the answer to D1 before announcing the end.
    const stored = await storedAssistant(conv.id)
    expect(stored).toMatchObject({ id: starter.events[0]!.data.assistantMessageId, status: 'complete', output_tokens: 100, stop_reason: 'end_turn' })
    expect(stored.text).toBe(deltas(all))
    expect(await storedGeneration(generationId)).toMatchObject({ status: 'completed', output_tokens: 100 })
    expect(await activeGeneration(conv.id)).toBeNull()
    expect((await call('GET', `/v1/generations/${generationId}`, { token: user.accessToken })).body.status).toBe('completed')

    // Batched rows: ~1 s of deltas 10 ms apart fit in a few rows, far below the 2 MB row limit.
    const rows = await storedRows(conv.id, generationId)
    expect(rows.events).toBe(all.length)
    expect(rows.rows).toBeLessThan(all.length / 4)
    expect(rows.largest).toBeLessThan(64 * 1024)
  })

  it('cancels a running generation from another request: partial text kept as cancelled in D1, a second cancel is 409', async () => {
    const conv = await newConversation(user)
    const res = await send('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: 'Cancel me [[emulator tokens=200 delay=10]]' },
    })
    const head = await readSseUntil(res, (e) => e.event === 'text.delta' && e.id >= 5)
    const generationId = String(head.events[0]!.data.generationId)

    const cancel = await call('POST', `/v1/generations/${generationId}/cancel`, { token: user.accessToken })
    expect(cancel.status, cancel.text).toBe(202)
    const all = [...head.events, ...(await readRest(head.reader))]
    expect(ids(all)).toEqual(range(1, all.length))
    expect(all.at(-1)!.event).toBe('generation.cancelled')
    expect(all.filter((e) => e.event === 'text.delta').length).toBeLessThan(200)

    const stored = await storedAssistant(conv.id)
    expect(stored).toMatchObject({ status: 'cancelled', output_tokens: null })
    expect(stored.text.length).toBeGreaterThan(0)
    expect(stored.text).toBe(deltas(all))
    expect(await storedGeneration(generationId)).toMatchObject({ status: 'cancelled' })
    expect(await activeGeneration(conv.id)).toBeNull()
    const again = await call('POST', `/v1/generations/${generationId}/cancel`, { token: user.accessToken })
    expect(again.status).toBe(409)

    // The conversation is free again: the next turn runs in the same object.
    const next = await call('POST', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken, json: { content: 'Next [[emulator tokens=2]]', stream: false } })
    expect(next.status, next.text).toBe(201)
    expect(next.body.assistantMessage.status).toBe('complete')
  })
})

describe('workers: stream state selection', () => {
  afterEach(() => vi.restoreAllMocks())

  it('/ready checks the stream state through the Durable Object hub', async () => {
    const ready = await call('GET', '/ready', { token: env.METRICS_TOKEN })
    expect(ready.status, ready.text).toBe(200)
    expect(ready.body.checks.streamState.status).toBe('ok')
  })

  it('STREAM_STATE=durable-object without the binding, or redis, fails closed naming STREAM_STATE', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    for (const [state, omit] of [['durable-object', 'GENERATIONS'], ['redis', '']] as const) {
      const badEnv: WorkerEnv = { ...env, LOG_LEVEL: 'silent', STREAM_STATE: state }
      if (omit) delete badEnv[omit]
      const reply = await readReply(await worker.fetch(new Request(`${ORIGIN}/health`), badEnv, createExecutionContext()))
      expect(reply.status, reply.text).toBe(500)
      expect(reply.body.detail).toContain('STREAM_STATE')
    }
  })
})

describe('workers: the generation object itself', () => {
  /** A test task that emits a delta, then waits for its cancel. */
  const holding = async ({ emit, signal }: ProducerContext, task: GenerationTask) => {
    emit({ type: 'text.delta', data: { generationId: task.generationId, delta: 'held' } })
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
    emit({ type: 'generation.cancelled', data: { generationId: task.generationId } })
  }
  const quick = async ({ emit }: ProducerContext, task: GenerationTask) => {
    emit({ type: 'generation.cancelled', data: { generationId: task.generationId } })
  }
  beforeAll(() => {
    localTasks.set('hold', (task, context) => holding(context, task))
    localTasks.set('quick', (task, context) => quick(context, task))
  })
  afterAll(() => {
    localTasks.delete('hold')
    localTasks.delete('quick')
  })

  const task = (conversationId: string, generationId: string, name: string): GenerationTask => ({ generationId, conversationId, task: name, input: null })

  it('runs one generation per conversation, refuses a known id, and keeps a heartbeat alarm while running', async () => {
    const conversationId = `conv_object_${crypto.randomUUID()}`
    const object = objectOf(conversationId)
    expect(await object.start(task(conversationId, 'gen_first', 'hold'), {})).toBeNull()
    expect(await object.start(task(conversationId, 'gen_second', 'quick'), {})).toMatch(/gen_first is already running/)
    expect(await object.start(task(conversationId, 'gen_first', 'quick'), {})).toMatch(/already started/)
    const alarm = await runInDurableObject(object, (_instance, state) => state.storage.getAlarm())
    expect(alarm).toBeGreaterThan(Date.now() + HEARTBEAT_MS - 5_000)
    expect(alarm).toBeLessThanOrEqual(Date.now() + HEARTBEAT_MS)
    // A heartbeat alarm while running changes nothing but the next heartbeat.
    expect(await runDurableObjectAlarm(object)).toBe(true)
    expect(await object.status('gen_first')).toEqual({ state: 'running', lastEventId: 1 })

    expect(await object.cancel('gen_first')).toBe(true)
    await until(async () => (await object.status('gen_first'))?.state === 'cancelled')
    expect(await object.start(task(conversationId, 'gen_second', 'quick'), {})).toBeNull()
    await until(async () => (await object.status('gen_second'))?.state === 'cancelled')
  })

  it('deletes finished generations by alarm after their retention, idempotently', async () => {
    const conversationId = `conv_object_${crypto.randomUUID()}`
    const object = objectOf(conversationId)
    const count = () =>
      runInDurableObject(object, (_instance, state) => ({
        generations: state.storage.sql.exec('SELECT count(*) AS n FROM hub_generations').one().n,
        events: state.storage.sql.exec('SELECT count(*) AS n FROM hub_events').one().n,
      }))
    const started = Date.now()
    expect(await object.start(task(conversationId, 'gen_short', 'quick'), { retentionMs: 500 })).toBeNull()
    await until(async () => (await count()).events === 1)
    const alarm = await runInDurableObject(object, (_instance, state) => state.storage.getAlarm())
    expect(alarm! - started).toBeGreaterThanOrEqual(500)
    expect(alarm! - started).toBeLessThan(HEARTBEAT_MS) // the retention alarm, not the running heartbeat
    // Nothing but the alarm deletes here: runInDurableObject reads storage without the hub's lazy expiry.
    await until(async () => (await count()).generations === 0, 5_000, 'the retention alarm')
    expect(await count()).toEqual({ generations: 0, events: 0 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(500)
    // At-least-once alarms: running it again is harmless, and nothing is rescheduled.
    await runInDurableObject(object, (instance) => (instance as unknown as { alarm(): Promise<void> }).alarm())
    expect(await count()).toEqual({ generations: 0, events: 0 })
    expect(await runInDurableObject(object, (_instance, state) => state.storage.getAlarm())).toBeNull()
    expect(await object.status('gen_short')).toBeNull()
  })
})

describe('workers: a generation left running without its producer', () => {
  it('is finalized by the object with the partial text of its stored events, and its stream ends', async () => {
    // An orphan as a restarted object finds it: D1 says running (checkpoint "Hel"), the object's storage holds
    // the generation as running with more text than the checkpoint, and no producer of this instance owns it.
    const user = await register('orphan')
    const conv = await newConversation(user)
    const generationId = `gen_orphan_${crypto.randomUUID().slice(0, 8)}`
    const [userMessageId, assistantMessageId] = [`msg_${generationId}_u`, `msg_${generationId}_z`]
    const now = Date.now()
    await env.DB.batch([
      env.DB.prepare("INSERT INTO messages (id, conversation_id, role, parts, status, created_at, updated_at) VALUES (?, ?, 'user', ?, 'complete', ?, ?)").bind(
        userMessageId, conv.id, JSON.stringify([{ type: 'text', text: 'hi' }]), now, now,
      ),
      env.DB.prepare("INSERT INTO messages (id, conversation_id, parent_id, role, parts, status, model_id, created_at, updated_at) VALUES (?, ?, ?, 'assistant', ?, 'streaming', 'm', ?, ?)").bind(
        assistantMessageId, conv.id, userMessageId, JSON.stringify([{ type: 'text', text: 'Hel' }]), now, now,
      ),
      env.DB.prepare("INSERT INTO generations (id, conversation_id, user_id, user_message_id, assistant_message_id, status, model_id, started_at) VALUES (?, ?, ?, ?, ?, 'running', 'm', ?)").bind(
        generationId, conv.id, user.userId, userMessageId, assistantMessageId, now,
      ),
      env.DB.prepare('UPDATE conversations SET active_generation_id = ? WHERE id = ?').bind(generationId, conv.id),
    ])
    const started = { id: 1, type: 'generation.started', data: { generationId, conversationId: conv.id, userMessageId, assistantMessageId, modelId: 'm' } }
    const text = (id: number, delta: string) => ({ id, type: 'text.delta', data: { generationId, delta } })
    await runInDurableObject(objectOf(conv.id), (_instance, state) => {
      const sql = state.storage.sql
      sql.exec("INSERT INTO hub_generations (id, task, state, last_seq, retention_ms, started_at) VALUES (?, 'chat', 'running', 0, 60000, ?)", generationId, now)
      sql.exec('INSERT INTO hub_events (generation_id, last_seq, first_seq, events) VALUES (?, 2, 1, ?)', generationId, JSON.stringify([started, text(2, 'Hello')]))
      sql.exec('INSERT INTO hub_events (generation_id, last_seq, first_seq, events) VALUES (?, 3, 3, ?)', generationId, JSON.stringify([text(3, ', wor')]))
    })
    const follower = await send('GET', `/v1/generations/${generationId}/events`, { token: user.accessToken, headers: { 'last-event-id': '1' } })
    const reading = follower.text()

    // The alarm (heartbeat or retention) is what wakes an object nobody calls; here the instance is alive.
    await runInDurableObject(objectOf(conv.id), (instance) => (instance as unknown as { alarm(): Promise<void> }).alarm())

    const events = parseSse(await reading).events
    expect(events.map((e) => e.id)).toEqual([2, 3, 4])
    expect(events.at(-1)).toMatchObject({ event: 'generation.failed', data: { generationId, code: 'interrupted', retryable: true } })
    const stored = await storedAssistant(conv.id)
    expect(stored).toMatchObject({ id: assistantMessageId, status: 'incomplete', stop_reason: 'interrupted', text: 'Hello, wor' })
    expect(await storedGeneration(generationId)).toMatchObject({ status: 'failed', error_code: 'interrupted' })
    expect(await activeGeneration(conv.id)).toBeNull()
    expect(await objectOf(conv.id).status(generationId)).toEqual({ state: 'failed', lastEventId: 4 })
    // Idempotent: another alarm changes nothing.
    await runInDurableObject(objectOf(conv.id), (instance) => (instance as unknown as { alarm(): Promise<void> }).alarm())
    expect(await objectOf(conv.id).status(generationId)).toEqual({ state: 'failed', lastEventId: 4 })
  })
})

// Last in this file: resetting the objects ends every object of the isolate (other tests' included).
describe('workers: a generation object reset mid-generation (eviction, deploy)', () => {
  /**
   * The simulated reset stops the old instance's storage but not its producer, as a deploy does (in-flight work gets
   * 30 s): the producer may still finish the turn in D1 before the new instance finds it, or the new instance
   * finalizes it first as interrupted. Either way the stream ends as D1 says, with D1's text, and nothing stays
   * running.
   */
  async function expectConsistent(conversationId: string, generationId: string, all: ParsedEvent[]) {
    const stored = await storedAssistant(conversationId)
    const generation = await storedGeneration(generationId)
    const terminal = all.at(-1)!
    expect(stored.text).toBe(deltas(all))
    expect(stored.text.length).toBeGreaterThan(0)
    if (terminal.event === 'generation.completed') {
      expect(generation).toMatchObject({ status: 'completed', output_tokens: 300 })
      expect(stored.status).toBe('complete')
    } else {
      expect(terminal.event).toBe('generation.failed')
      expect(generation).toMatchObject({ status: 'failed', error_code: terminal.data.code })
      expect(stored.status).toBe('incomplete')
    }
    expect(await activeGeneration(conversationId)).toBeNull()
    return terminal
  }

  it('its followers re-attach to the restarted object and end; the turn is finalized; the conversation is free', async () => {
    const user = await register('evicted')
    const conv = await newConversation(user)
    const res = await send('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: 'Interrupt me [[emulator tokens=300 delay=10]]' },
    })
    const head = await readSseUntil(res, (e) => e.event === 'text.delta' && e.id >= 20)
    const generationId = String(head.events[0]!.data.generationId)

    // The object goes away with its producer; its storage stays. The client's stream notices (the object's stream
    // breaks, or goes quiet while the generation moved on) and re-attaches to a new instance, which finds the
    // generation running without a producer and ends it.
    await abortAllDurableObjects()
    const all = [...head.events, ...(await readRest(head.reader))]
    expect(ids(all)).toEqual(range(1, all.length))
    const terminal = await expectConsistent(conv.id, generationId, all)
    console.log(`reset mid-generation: the stream ended with ${terminal.event} ${JSON.stringify(terminal.data.code ?? '')} after ${all.length} events`)

    // A later reader replays the same events, terminal included.
    const replay = parseSse(await (await send('GET', `/v1/generations/${generationId}/events`, { token: user.accessToken })).text()).events
    expect(replay).toEqual(all)

    const next = await call('POST', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken, json: { content: 'Again [[emulator tokens=2]]', stream: false } })
    expect(next.status, next.text).toBe(201)
  })

  it('an object nobody calls is woken by its heartbeat alarm and ends the interrupted turn', async () => {
    const user = await register('evicted')
    const conv = await newConversation(user)
    const res = await send('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: 'Nobody watches [[emulator tokens=300 delay=10]]' },
    })
    const head = await readSseUntil(res, (e) => e.event === 'text.delta' && e.id >= 10)
    const generationId = String(head.events[0]!.data.generationId)
    await head.reader.cancel()
    await abortAllDurableObjects()
    // No request reaches the object: only its heartbeat alarm wakes it.
    expect(await runDurableObjectAlarm(objectOf(conv.id))).toBe(true)
    expect((await objectOf(conv.id).status(generationId))?.state).not.toBe('running')
    const replay = parseSse(await (await send('GET', `/v1/generations/${generationId}/events`, { token: user.accessToken })).text()).events
    expect(replay.slice(0, head.events.length)).toEqual(head.events)
    await expectConsistent(conv.id, generationId, replay)
  })
})
