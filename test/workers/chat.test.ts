// Chat turns through the Worker entry inside workerd: real D1, the in-process Bedrock emulator (no AWS credentials
// in the test bindings), and the memory hub living in the isolate. Every request goes through `exports.default`,
// i.e. workerd dispatches it to the entry with its own execution context, as in production.
//
// The hub is per isolate: these tests only rely on what one isolate keeps (vitest.workers.config.ts runs all files
// in one isolate, and every request of the test isolate shares one `env`, hence one app and one hub).
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { parseSse, readRest, readSseUntil, type ParsedEvent } from '../sse'
import { call, expectProblem, register, request, until, type Json, type Registered } from './helpers'

const MODEL = 'amazon.nova-lite-v1:0'

interface MessageRecord {
  id: string
  conversation_id: string
  parent_id: string | null
  role: string
  parts: string
  status: string
  model_id: string | null
  input_tokens: number | null
  output_tokens: number | null
  stop_reason: string | null
  latency_ms: number | null
}

/** The conversation's messages as D1 holds them, oldest first. */
async function storedMessages(conversationId: string): Promise<MessageRecord[]> {
  const { results } = await env.DB.prepare('SELECT * FROM messages WHERE conversation_id = ? ORDER BY id').bind(conversationId).all<MessageRecord>()
  return results
}

async function storedGeneration(id: string) {
  return env.DB.prepare('SELECT status, error_code, output_tokens, finished_at FROM generations WHERE id = ?').bind(id).first<{
    status: string
    error_code: string | null
    output_tokens: number | null
    finished_at: number | null
  }>()
}

const textOfParts = (parts: { type: string; text?: string }[]) => parts.filter((part) => part.type === 'text').map((part) => part.text).join('')
const storedText = (row: MessageRecord) => textOfParts(JSON.parse(row.parts))
const deltas = (events: ParsedEvent[]) => events.filter((e) => e.event === 'text.delta').map((e) => String(e.data.delta)).join('')

async function conversation(user: Registered, body: Record<string, unknown> = {}): Promise<Json> {
  const reply = await call('POST', '/v1/conversations', { token: user.accessToken, json: body })
  expect(reply.status, reply.text).toBe(201)
  return reply.body
}

const turn = (user: Registered, conversationId: string, body: Record<string, unknown>) =>
  request('POST', `/v1/conversations/${conversationId}/messages`, { token: user.accessToken, json: body })

async function apiMessages(user: Registered, conversationId: string): Promise<Json[]> {
  const reply = await call('GET', `/v1/conversations/${conversationId}/messages`, { token: user.accessToken })
  expect(reply.status, reply.text).toBe(200)
  return reply.body.data
}


describe('workers: streamed turn', () => {
  it('streams the SSE grammar and stores both messages in D1', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Hello from workerd [[emulator tokens=7]]' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const body = await res.text()
    expect(body).toMatch(/^id: 1\nevent: generation.started\ndata: \{/)
    const { events } = parseSse(body)

    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1))
    expect(events.map((e) => e.event)).toEqual(['generation.started', ...Array(7).fill('text.delta'), 'usage', 'generation.completed'])
    const started = events[0]!.data
    expect(started).toMatchObject({ conversationId: conv.id, modelId: MODEL, generationId: expect.stringMatching(/^gen_/) })
    for (const event of events) expect(event.data.generationId).toBe(started.generationId)
    expect(events.at(-2)!.data).toMatchObject({ outputTokens: 7, inputTokens: expect.any(Number) })
    expect(events.at(-1)!.data).toMatchObject({ assistantMessageId: started.assistantMessageId, stopReason: 'end_turn', usage: { outputTokens: 7 } })
    const streamed = deltas(events)
    expect(streamed.length).toBeGreaterThan(0)

    // Straight from D1: the user message, then the finalized assistant message with the concatenated text.
    const rows = await storedMessages(conv.id)
    expect(rows).toHaveLength(2)
    const [userRow, assistantRow] = [rows.find((r) => r.role === 'user')!, rows.find((r) => r.role === 'assistant')!]
    expect(userRow).toMatchObject({ id: started.userMessageId, status: 'complete', parent_id: null })
    expect(JSON.parse(userRow.parts)).toEqual([{ type: 'text', text: 'Hello from workerd [[emulator tokens=7]]' }])
    expect(assistantRow).toMatchObject({
      id: started.assistantMessageId,
      parent_id: userRow.id,
      status: 'complete',
      model_id: MODEL,
      output_tokens: 7,
      stop_reason: 'end_turn',
    })
    expect(assistantRow.latency_ms).toBeGreaterThanOrEqual(0)
    expect(storedText(assistantRow)).toBe(streamed)
    expect(await storedGeneration(String(started.generationId))).toMatchObject({ status: 'completed', output_tokens: 7, error_code: null })

    // And through the API.
    const conversationNow = await call('GET', `/v1/conversations/${conv.id}`, { token: user.accessToken })
    expect(conversationNow.body).toMatchObject({ title: 'Hello from workerd [[emulator tokens=7]]', activeGenerationId: null })
    const generation = await call('GET', `/v1/generations/${started.generationId}`, { token: user.accessToken })
    expect(generation.body).toMatchObject({ status: 'completed', assistantMessageId: started.assistantMessageId, usage: { outputTokens: 7 } })
  })

  it('stream:false answers 201 with both messages', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const reply = await call('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: 'Quietly [[emulator tokens=4]]', stream: false },
    })
    expect(reply.status, reply.text).toBe(201)
    expect(reply.body.userMessage).toMatchObject({ role: 'user', status: 'complete', usage: null, parts: [{ type: 'text', text: 'Quietly [[emulator tokens=4]]' }] })
    expect(reply.body.assistantMessage).toMatchObject({
      role: 'assistant',
      status: 'complete',
      parentId: reply.body.userMessage.id,
      modelId: MODEL,
      stopReason: 'end_turn',
      usage: { outputTokens: 4 },
    })
    const [, assistantRow] = await storedMessages(conv.id)
    expect(assistantRow).toMatchObject({ id: reply.body.assistantMessage.id, status: 'complete', output_tokens: 4 })
    expect(storedText(assistantRow!)).toBe(textOfParts(reply.body.assistantMessage.parts))
    expect(storedText(assistantRow!).length).toBeGreaterThan(0)
  })

  it('a second turn sends the history: the stored answer of the first', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    await (await turn(user, conv.id, { content: 'one [[emulator tokens=2]]' })).text()
    const second = await call('POST', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken, json: { content: 'two [[emulator tokens=2]]', stream: false } })
    expect(second.status, second.text).toBe(201)
    const rows = await apiMessages(user, conv.id)
    expect(rows.map((m) => `${m.role}:${m.status}`)).toEqual(['user:complete', 'assistant:complete', 'user:complete', 'assistant:complete'])
    expect(rows[2].parentId).toBe(rows[1].id)
  })
})

describe('workers: failures', () => {
  it('a failure mid-stream keeps the partial text as incomplete and ends with generation.failed', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const { events } = parseSse(await (await turn(user, conv.id, { content: 'Go [[emulator tokens=10 fail-after=3]]' })).text())
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5])
    expect(events.map((e) => e.event)).toEqual(['generation.started', 'text.delta', 'text.delta', 'text.delta', 'generation.failed'])
    expect(events.at(-1)!.data).toMatchObject({ code: 'upstream_error', retryable: false, message: expect.any(String) })

    const [, assistantRow] = await storedMessages(conv.id)
    expect(assistantRow!.status).toBe('incomplete')
    expect(storedText(assistantRow!)).toBe(deltas(events))
    expect(deltas(events).length).toBeGreaterThan(0)
    expect(await storedGeneration(String(events[0]!.data.generationId))).toMatchObject({ status: 'failed', error_code: 'upstream_error' })
    expect((await call('GET', `/v1/conversations/${conv.id}`, { token: user.accessToken })).body.activeGenerationId).toBeNull()
  })

  it('a pre-stream ThrottlingException (after the client retries) is a 429 problem with the generation ids', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: '[[emulator error=ThrottlingException]]', stream: false })
    const reply = { status: res.status, headers: res.headers, text: await res.text(), body: null as Json }
    reply.body = JSON.parse(reply.text)
    const problem = expectProblem(reply, 429, 'rate_limited')
    expect(res.headers.get('retry-after')).toBeTruthy()
    expect(problem).toMatchObject({ generationId: expect.stringMatching(/^gen_/), assistantMessageId: expect.stringMatching(/^msg_/) })
    const [userRow, assistantRow] = await storedMessages(conv.id)
    expect(userRow).toMatchObject({ role: 'user', status: 'complete' })
    expect(assistantRow).toMatchObject({ id: problem.assistantMessageId, status: 'failed', parts: '[]' })
    expect(await storedGeneration(problem.generationId)).toMatchObject({ status: 'failed', error_code: 'rate_limited' })
  })

  it('a pre-stream error on a streamed turn is a generation.failed event', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const { events } = parseSse(await (await turn(user, conv.id, { content: '[[emulator error=AccessDeniedException]]' })).text())
    expect(events.map((e) => e.event)).toEqual(['generation.started', 'generation.failed'])
    expect(events[1]!.data).toMatchObject({ code: 'upstream_error', retryable: false })
  })
})

describe('workers: following, cancelling, conflicts', () => {
  it('replays a finished generation after Last-Event-ID or ?after', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const original = parseSse(await (await turn(user, conv.id, { content: 'Replay [[emulator tokens=6]]' })).text()).events
    expect(original).toHaveLength(9)
    const generationId = original[0]!.data.generationId
    const fromHeader = await request('GET', `/v1/generations/${generationId}/events`, { token: user.accessToken, headers: { 'last-event-id': '3' } })
    expect(fromHeader.status).toBe(200)
    expect(parseSse(await fromHeader.text()).events).toEqual(original.slice(3))
    const fromQuery = await request('GET', `/v1/generations/${generationId}/events?after=0`, { token: user.accessToken })
    expect(parseSse(await fromQuery.text()).events).toEqual(original)
    const pastEnd = await request('GET', `/v1/generations/${generationId}/events?after=999`, { token: user.accessToken })
    expect(parseSse(await pastEnd.text()).events).toEqual([])
  })

  // KNOWN BUG (src/stream/memory-hub.ts under workerd): a subscriber in another request is woken from the
  // producer's request context (the waker runs in the producer's queueMicrotask), so its SSE stream is touched
  // from the wrong request: "Cannot perform I/O on behalf of a different request" (I/O types ReadResult,
  // RefcountedFulfiller), reported as unhandled rejections, and the follower gets the replayed events and then
  // hangs. Skipped (not `.fails`) because the hang and the unhandled rejections would fail the whole run.
  // Un-skip once the Workers hub wakes subscribers in their own request (or the Durable Object hub lands).
  it('a second client follows a running generation from another request, after Last-Event-ID', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Follow [[emulator tokens=20 delay=10]]' })
    const first = await readSseUntil(res, (e) => e.event === 'text.delta' && e.id >= 3)
    const generationId = first.events[0]!.data.generationId
    const follower = await request('GET', `/v1/generations/${generationId}/events`, { token: user.accessToken, headers: { 'last-event-id': '2' } })
    expect(follower.status).toBe(200)
    const followed = parseSse(await follower.text()).events
    const original = [...first.events, ...(await readRest(first.reader))]
    expect(original.map((e) => e.id)).toEqual(original.map((_, i) => i + 1))
    expect(original.at(-1)!.event).toBe('generation.completed')
    expect(followed).toEqual(original.slice(2))
  })

  // The cancel arrives in another request than the turn's: workerd forbids it to touch the turn's I/O (the model
  // fetch), which is what this test guards (commit 2104f98 made the hub abort from the producer's own timer).
  it('cancels a slow generation: generation.cancelled, partial text kept as cancelled, a second cancel is 409', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Slow [[emulator tokens=200 delay=10]]' })
    const { events, reader } = await readSseUntil(res, (e) => e.event === 'text.delta' && e.id >= 4)
    const generationId = String(events[0]!.data.generationId)
    const cancel = await call('POST', `/v1/generations/${generationId}/cancel`, { token: user.accessToken })
    expect(cancel.status, cancel.text).toBe(202)
    const all = [...events, ...(await readRest(reader))]
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1))
    expect(all.at(-1)!.event).toBe('generation.cancelled')
    expect(all.filter((e) => e.event.startsWith('generation.') && e.event !== 'generation.started')).toHaveLength(1)
    expect(all.filter((e) => e.event === 'text.delta').length).toBeLessThan(200)

    const [, assistantRow] = await storedMessages(conv.id)
    expect(assistantRow).toMatchObject({ status: 'cancelled', output_tokens: null })
    expect(storedText(assistantRow!)).toBe(deltas(all))
    expect(storedText(assistantRow!).length).toBeGreaterThan(0)
    expect(await storedGeneration(generationId)).toMatchObject({ status: 'cancelled' })
    expect((await call('GET', `/v1/generations/${generationId}`, { token: user.accessToken })).body.status).toBe('cancelled')
    expectProblem(await call('POST', `/v1/generations/${generationId}/cancel`, { token: user.accessToken }), 409, 'conflict')
    expect((await call('GET', `/v1/conversations/${conv.id}`, { token: user.accessToken })).body.activeGenerationId).toBeNull()
  })

  it('a second turn while one runs is 409 with activeGenerationId; the first still completes', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const running = await turn(user, conv.id, { content: 'Busy [[emulator tokens=20 delay=10]]' })
    const { events, reader } = await readSseUntil(running, () => true)
    const generationId = events[0]!.data.generationId
    const again = await call('POST', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken, json: { content: 'again' } })
    expect(expectProblem(again, 409, 'conflict').activeGenerationId).toBe(generationId)
    expect((await call('GET', `/v1/conversations/${conv.id}`, { token: user.accessToken })).body.activeGenerationId).toBe(generationId)
    const rest = await readRest(reader)
    expect(rest.at(-1)!.event).toBe('generation.completed')
    // Nothing of the refused turn was stored.
    expect((await storedMessages(conv.id)).map((r) => r.role)).toEqual(['user', 'assistant'])
  })

  it('the generation completes and is stored when the client reads only the first event and cancels the body (waitUntil)', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Detached [[emulator tokens=15 delay=20]]' })
    const { events, reader } = await readSseUntil(res, (e) => e.event === 'generation.started')
    expect(events.map((e) => e.event)).toEqual(['generation.started'])
    await reader.cancel()
    const generationId = String(events[0]!.data.generationId)
    await until(async () => (await storedGeneration(generationId))?.status === 'completed', 10_000, 'the detached generation to complete')
    const [, assistantRow] = await storedMessages(conv.id)
    expect(assistantRow).toMatchObject({ status: 'complete', output_tokens: 15 })
    // The full event log is still replayable from the isolate's hub.
    const replay = parseSse(await (await request('GET', `/v1/generations/${generationId}/events`, { token: user.accessToken })).text()).events
    expect(replay.map((e) => e.event)).toEqual(['generation.started', ...Array(15).fill('text.delta'), 'usage', 'generation.completed'])
    expect(storedText(assistantRow!)).toBe(deltas(replay))
  })
})

describe('workers: conversations list, export, metrics', () => {
  it('lists the conversation with its title and exports it as Markdown', async () => {
    const user = await register('chat')
    const conv = await conversation(user)
    const done = await call('POST', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken, json: { content: 'Export me [[emulator tokens=3]]', stream: false } })
    expect(done.status, done.text).toBe(201)

    const list = await call('GET', '/v1/conversations', { token: user.accessToken })
    expect(list.status, list.text).toBe(200)
    expect(list.body.data).toEqual([expect.objectContaining({ id: conv.id, title: 'Export me [[emulator tokens=3]]', activeGenerationId: null })])

    const md = await request('GET', `/v1/conversations/${conv.id}/export?format=markdown`, { token: user.accessToken })
    expect(md.status).toBe(200)
    expect(md.headers.get('content-type')).toMatch(/^text\/markdown/)
    expect(md.headers.get('content-disposition')).toBe(`attachment; filename="${conv.id}.md"`)
    const text = await md.text()
    expect(text).toContain('# Export me [[emulator tokens=3]]')
    expect(text).toContain('## User')
    expect(text).toContain('## Assistant')
    expect(text).toContain(textOfParts(done.body.assistantMessage.parts))
  })

  it('/metrics answers in Prometheus text, counting this isolate\'s generations by outcome', async () => {
    const completed = (text: string) => {
      const line = text.split('\n').find((l) => l.startsWith('edgechat_generations_total{') && l.includes(`model="${MODEL}"`) && l.includes('outcome="completed"'))
      return line ? Number(line.split(' ').at(-1)) : 0
    }
    const before = await call('GET', '/metrics', { token: env.METRICS_TOKEN })
    expect(before.status, before.text).toBe(200)
    expect(before.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(before.text).toContain('# TYPE edgechat_generations_total counter')

    const user = await register('chat')
    const conv = await conversation(user)
    const done = await call('POST', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken, json: { content: 'Count me [[emulator tokens=2]]', stream: false } })
    expect(done.status, done.text).toBe(201)
    const after = await call('GET', '/metrics', { token: env.METRICS_TOKEN })
    expect(completed(after.text)).toBe(completed(before.text) + 1)
  })
})
