import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BedrockClient as ModelClient, ConverseRequest } from '../../src/bedrock/types'
import { sweepOrphanedGenerations } from '../../src/db/repositories/generations'
import { GenerationInterrupted } from '../../src/stream/hub'
import { createMemoryHub } from '../../src/stream/memory-hub'
import { createTestApp, expectProblem, startHttpEmulator, type TestApp } from '../helpers'
import { parseSse, readRest, readSseUntil } from '../sse'

let t: TestApp
let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
const requests: ConverseRequest[] = []

beforeAll(async () => {
  emulator = await startHttpEmulator()
  const models = emulator.client({ baseDelayMs: 5 })
  const recording: ModelClient = {
    converse: (request, options) => models.converse(request, options),
    converseStream: (request, options) => {
      requests.push(request)
      return models.converseStream(request, options)
    },
  }
  t = await createTestApp({}, { models: recording })
})
afterAll(async () => {
  t.close()
  await emulator.close()
})

type User = Awaited<ReturnType<TestApp['register']>>

async function conversation(user: User, body: Record<string, unknown> = {}) {
  const res = await user.call('POST', '/v1/conversations', { body })
  expect(res.status).toBe(201)
  return res.json()
}

const turn = (user: User, conversationId: string, body: Record<string, unknown>) =>
  user.call('POST', `/v1/conversations/${conversationId}/messages`, { body })

async function messages(user: User, conversationId: string) {
  return (await (await user.call('GET', `/v1/conversations/${conversationId}/messages?branch=all`)).json()).data
}

const textOf = (message: { parts: { type: string; text?: string }[] }) =>
  message.parts.filter((part) => part.type === 'text').map((part) => part.text).join('')

const until = async (check: () => Promise<boolean>, ms = 5000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('streamed turn', () => {
  it('streams the SSE grammar event by event and stores both messages', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: '  Hello there, model  [[emulator tokens=5]]' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const body = await res.text()
    const { events } = parseSse(body)

    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1))
    expect(events.map((e) => e.event)).toEqual([
      'generation.started',
      ...Array(5).fill('text.delta'),
      'usage',
      'generation.completed',
    ])
    const started = events[0]!.data
    expect(started).toMatchObject({ conversationId: conv.id, modelId: 'amazon.nova-lite-v1:0' })
    expect(String(started.generationId)).toMatch(/^gen_/)
    for (const event of events) expect(event.data.generationId).toBe(started.generationId)
    const completed = events.at(-1)!.data
    expect(completed).toMatchObject({ assistantMessageId: started.assistantMessageId, stopReason: 'end_turn', usage: { outputTokens: 5 } })
    expect(body).toMatch(/^id: 1\nevent: generation.started\ndata: \{/)

    const streamed = events.filter((e) => e.event === 'text.delta').map((e) => e.data.delta).join('')
    const [userMessage, assistantMessage] = await messages(user, conv.id)
    expect(userMessage).toMatchObject({ id: started.userMessageId, role: 'user', status: 'complete', usage: null, modelId: null, latencyMs: null, parentId: null })
    expect(userMessage.parts).toEqual([{ type: 'text', text: '  Hello there, model  [[emulator tokens=5]]' }])
    expect(assistantMessage).toMatchObject({
      id: started.assistantMessageId,
      role: 'assistant',
      status: 'complete',
      parentId: userMessage.id,
      modelId: 'amazon.nova-lite-v1:0',
      stopReason: 'end_turn',
      usage: { outputTokens: 5 },
    })
    expect(assistantMessage.latencyMs).toBeGreaterThanOrEqual(0)
    expect(textOf(assistantMessage)).toBe(streamed)

    const after = await (await user.call('GET', `/v1/conversations/${conv.id}`)).json()
    expect(after).toMatchObject({ title: 'Hello there, model [[emulator tokens=5]]', activeGenerationId: null })
    const generation = await (await user.call('GET', `/v1/generations/${started.generationId}`)).json()
    expect(generation).toMatchObject({ status: 'completed', assistantMessageId: assistantMessage.id, usage: { outputTokens: 5 } })
  })

  it('rebuilds history from stored messages, with the system prompt', async () => {
    const user = await t.register()
    const conv = await conversation(user, { systemPrompt: 'Be terse.' })
    await (await turn(user, conv.id, { content: 'first question' })).text()
    requests.length = 0
    await (await turn(user, conv.id, { content: 'second question', inference: { temperature: 0.2 } })).text()
    const sent = requests[0]!
    expect(sent.system).toEqual([{ text: 'Be terse.' }])
    expect(sent.inferenceConfig).toMatchObject({ temperature: 0.2, maxTokens: 2048 })
    expect(sent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(sent.messages[0]!.content).toEqual([{ text: 'first question' }])
    expect(sent.messages[2]!.content).toEqual([{ text: 'second question' }])
  })

  it('branches from parentId', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    await (await turn(user, conv.id, { content: 'one' })).text()
    await (await turn(user, conv.id, { content: 'two' })).text()
    const [, firstAnswer] = await messages(user, conv.id)
    requests.length = 0
    const edited = await (await turn(user, conv.id, { content: 'edited two', parentId: firstAnswer.id, stream: false })).json()
    expect(edited.userMessage.parentId).toBe(firstAnswer.id)
    expect(requests[0]!.messages.map((m) => m.content)).toEqual([[{ text: 'one' }], [{ text: textOf(firstAnswer) }], [{ text: 'edited two' }]])
    await expectProblem(await turn(user, conv.id, { content: 'x', parentId: 'msg_unknown' }), 404, 'not_found')
  })
})

describe('non-streamed turn', () => {
  it('returns both messages after completion', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Hi [[emulator tokens=3]]', stream: false })
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body.userMessage).toMatchObject({ role: 'user', usage: null })
    expect(body.assistantMessage).toMatchObject({ role: 'assistant', status: 'complete', usage: { outputTokens: 3 }, stopReason: 'end_turn' })
  })

  it.each([
    ['ThrottlingException', 429, 'rate_limited'],
    ['ValidationException', 400, 'validation_failed'],
    ['ModelTimeoutException', 504, 'upstream_timeout'],
    ['AccessDeniedException', 502, 'upstream_error'],
    ['ServiceUnavailableException', 502, 'upstream_error'],
  ])('maps a Bedrock %s to %i %s, keeping the generation ids', async (type, status, code) => {
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: `[[emulator error=${type}]]`, stream: false })
    const problem = await expectProblem(res, status, code)
    expect(problem.generationId).toMatch(/^gen_/)
    if (status === 429) expect(res.headers.get('retry-after')).toBeTruthy()
    const [, assistant] = await messages(user, conv.id)
    expect(assistant).toMatchObject({ id: problem.assistantMessageId, status: 'failed', parts: [] })
    const generation = await (await user.call('GET', `/v1/generations/${problem.generationId}`)).json()
    expect(generation).toMatchObject({ status: 'failed', errorCode: code })
    expect((await (await user.call('GET', `/v1/conversations/${conv.id}`)).json()).activeGenerationId).toBeNull()
  })
})

describe('failures, disconnects and cancellation', () => {
  it('keeps partial text when the model fails mid-stream, and says so in a failed event', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const { events } = parseSse(await (await turn(user, conv.id, { content: 'Go [[emulator tokens=10 fail-after=3]]' })).text())
    expect(events.map((e) => e.event)).toEqual(['generation.started', 'text.delta', 'text.delta', 'text.delta', 'generation.failed'])
    expect(events.at(-1)!.data).toMatchObject({ code: 'upstream_error', retryable: false })
    const [, assistant] = await messages(user, conv.id)
    expect(assistant.status).toBe('incomplete')
    expect(textOf(assistant)).toBe(events.slice(1, 4).map((e) => e.data.delta).join(''))
  })

  it('finishes and stores the answer when the client disconnects', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Long [[emulator tokens=15 delay=15]]' })
    const { reader } = await readSseUntil(res as Response, (e) => e.event === 'text.delta')
    await reader.cancel()
    await until(async () => (await messages(user, conv.id))[1].status === 'complete')
    const [, assistant] = await messages(user, conv.id)
    expect(assistant.usage.outputTokens).toBe(15)
  })

  it('cancels: subscribers get generation.cancelled, partial text is kept, a second cancel is 409', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Slow [[emulator tokens=200 delay=10]]' })
    const { events, reader } = await readSseUntil(res as Response, (e) => e.event === 'text.delta' && e.id >= 4)
    const generationId = events[0]!.data.generationId
    const cancel = await user.call('POST', `/v1/generations/${generationId}/cancel`)
    expect(cancel.status).toBe(202)
    const all = [...events, ...(await readRest(reader))]
    expect(all.at(-1)!.event).toBe('generation.cancelled')
    const [, assistant] = await messages(user, conv.id)
    expect(assistant.status).toBe('cancelled')
    expect(textOf(assistant).length).toBeGreaterThan(0)
    expect(assistant.usage).toBeNull()
    expect((await (await user.call('GET', `/v1/generations/${generationId}`)).json()).status).toBe('cancelled')
    await expectProblem(await user.call('POST', `/v1/generations/${generationId}/cancel`), 409, 'conflict')
  })

  it('checkpoints partial text while a long answer streams', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Checkpoint [[emulator tokens=60 delay=40]]' })
    const reading = res.text()
    await until(async () => textOf((await messages(user, conv.id))[1]).length > 0, 6000)
    const [, partial] = await messages(user, conv.id)
    expect(partial.status).toBe('streaming')
    await reading
  })
})

describe('following and resuming', () => {
  it('replays after Last-Event-ID or ?after, and replays a finished generation in full', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const original = parseSse(await (await turn(user, conv.id, { content: 'Replay [[emulator tokens=6]]' })).text()).events
    const generationId = original[0]!.data.generationId
    const fromHeader = parseSse(await (await user.call('GET', `/v1/generations/${generationId}/events`, { headers: { 'last-event-id': '3' } })).text()).events
    expect(fromHeader).toEqual(original.slice(3))
    const fromQuery = parseSse(await (await user.call('GET', `/v1/generations/${generationId}/events?after=0`)).text()).events
    expect(fromQuery).toEqual(original)
    const pastEnd = parseSse(await (await user.call('GET', `/v1/generations/${generationId}/events?after=999`)).text()).events
    expect(pastEnd).toEqual([])
    await expectProblem(await user.call('GET', `/v1/generations/${generationId}/events?after=-1`), 400, 'validation_failed')
  })

  it('lets a second client attach to the active generation mid-stream; 204 when none is active', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    expect((await user.call('GET', `/v1/conversations/${conv.id}/stream`)).status).toBe(204)
    const first = turn(user, conv.id, { content: 'Follow [[emulator tokens=20 delay=10]]' }).then((res) => res.text())
    await until(async () => (await (await user.call('GET', `/v1/conversations/${conv.id}`)).json()).activeGenerationId !== null)
    const second = parseSse(await (await user.call('GET', `/v1/conversations/${conv.id}/stream`)).text()).events
    const original = parseSse(await first).events
    expect(second).toEqual(original)
  })

  it('refuses a second turn while one runs with 409 and activeGenerationId', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const running = await turn(user, conv.id, { content: 'Busy [[emulator tokens=20 delay=10]]' })
    const { events } = await readSseUntil(running as Response, () => true)
    const problem = await expectProblem(await turn(user, conv.id, { content: 'again' }), 409, 'conflict')
    expect(problem.activeGenerationId).toBe(events[0]!.data.generationId)
    // Nothing of the refused turn was written.
    const { data } = await (await user.call('GET', `/v1/conversations/${conv.id}/messages`)).json()
    expect(data.map((message: { role: string }) => message.role)).toEqual(['user', 'assistant'])
    expect(JSON.stringify(data)).not.toContain('again')
  })
})

describe('Idempotency-Key', () => {
  const send = (user: User, id: string, key: string, body: Record<string, unknown>) =>
    user.call('POST', `/v1/conversations/${id}/messages`, { body, headers: { 'idempotency-key': key } })

  it('returns the same generation for a retry without calling the model again', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    requests.length = 0
    const first = await (await send(user, conv.id, 'retry-1', { content: 'Once [[emulator tokens=3]]', stream: false })).json()
    const second = await send(user, conv.id, 'retry-1', { content: 'Once [[emulator tokens=3]]', stream: false })
    expect(second.status).toBe(201)
    expect(await second.json()).toEqual(first)
    const streamed = parseSse(await (await send(user, conv.id, 'retry-1', { content: 'Once [[emulator tokens=3]]' })).text()).events
    expect(streamed[0]!.data.assistantMessageId).toBe(first.assistantMessage.id)
    expect(streamed.at(-1)!.event).toBe('generation.completed')
    expect(requests).toHaveLength(1)
    expect(await messages(user, conv.id)).toHaveLength(2)
  })

  it('marks replays with Idempotent-Replayed', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const first = await send(user, conv.id, 'mark', { content: 'Mark [[emulator tokens=2]]', stream: false })
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    const again = await send(user, conv.id, 'mark', { content: 'Mark [[emulator tokens=2]]', stream: false })
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    const streamed = await send(user, conv.id, 'mark', { content: 'Mark [[emulator tokens=2]]' })
    expect(streamed.headers.get('idempotent-replayed')).toBe('true')
    await streamed.text()
  })

  it('a retryable failure does not pin its key: the retry answers the same user message again', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const body = { content: 'Busy [[emulator error=ThrottlingException]]', stream: false }
    const first = await expectProblem(await send(user, conv.id, 'throttled', body), 429, 'rate_limited')
    const retry = await send(user, conv.id, 'throttled', body)
    expect(retry.headers.get('idempotent-replayed')).toBeNull()
    const second = await expectProblem(retry, 429, 'rate_limited')
    expect(second.generationId).not.toBe(first.generationId)
    // One user message, answered twice: nothing accepted is duplicated or lost.
    const stored = await messages(user, conv.id)
    expect(stored.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'assistant'])
    expect(stored[1].parentId).toBe(stored[0].id)
    expect(stored[2].parentId).toBe(stored[0].id)
    expect(stored[2].id).toBe(second.assistantMessageId)

    // A failure that a retry cannot mend stays pinned, and is replayed.
    const invalid = { content: 'Bad [[emulator error=ValidationException]]', stream: false }
    const refused = await expectProblem(await send(user, conv.id, 'invalid', invalid), 400, 'validation_failed')
    const replayed = await send(user, conv.id, 'invalid', invalid)
    expect(replayed.headers.get('idempotent-replayed')).toBe('true')
    expect((await expectProblem(replayed, 400, 'validation_failed')).generationId).toBe(refused.generationId)
  })

  it('attaches a retry to a running generation, also when two arrive at once', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    requests.length = 0
    const body = { content: 'Concurrent [[emulator tokens=10 delay=10]]' }
    const [a, b] = await Promise.all([send(user, conv.id, 'same', body), send(user, conv.id, 'same', body)])
    const [eventsA, eventsB] = [parseSse(await a.text()).events, parseSse(await b.text()).events]
    expect(eventsA).toEqual(eventsB)
    expect(eventsA.at(-1)!.event).toBe('generation.completed')
    expect(requests).toHaveLength(1)
  })

  it('rejects the same key with a different body (422) and keys are per user', async () => {
    const user = await t.register()
    const other = await t.register()
    const conv = await conversation(user)
    const otherConv = await conversation(other)
    expect((await send(user, conv.id, 'k', { content: 'first', stream: false })).status).toBe(201)
    await expectProblem(await send(user, conv.id, 'k', { content: 'changed', stream: false }), 422, 'idempotency_mismatch')
    await expectProblem(await send(user, conv.id, 'k', { content: 'first', modelId: 'anthropic.claude-3-haiku-20240307-v1:0', stream: false }), 422, 'idempotency_mismatch')
    const second = await conversation(user)
    await expectProblem(await send(user, second.id, 'k', { content: 'first', stream: false }), 422, 'idempotency_mismatch')
    expect((await send(other, otherConv.id, 'k', { content: 'first', stream: false })).status).toBe(201)
    for (const key of ['', 'ü-not-ascii', 'x'.repeat(256), 'has space']) {
      await expectProblem(await send(user, conv.id, key, { content: 'x' }), 400, 'validation_failed')
    }
  })

  it('replays a finished turn from the database after the hub let its events expire', async () => {
    const quick = await createTestApp({ STREAM_RETENTION_SECONDS: '1' }, { models: emulator.client() })
    const user = await quick.register()
    const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const body = { content: 'Expire [[emulator tokens=4]]' }
    const original = parseSse(await (await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body, headers: { 'idempotency-key': 'old' } })).text()).events
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    const generationId = original[0]!.data.generationId
    await expectProblem(await user.call('GET', `/v1/generations/${generationId}/events`), 404, 'not_found')
    const replay = parseSse(await (await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body, headers: { 'idempotency-key': 'old' } })).text()).events
    expect(replay.map((e) => e.event)).toEqual(['generation.started', 'text.delta', 'usage', 'generation.completed'])
    expect(replay[1]!.data.delta).toBe(original.filter((e) => e.event === 'text.delta').map((e) => e.data.delta).join(''))
    quick.close()
  })
})

describe('crash recovery', () => {
  it('finalizes as interrupted, not cancelled, when the hub stops a producer nobody cancelled', async () => {
    const takenOver = await createTestApp({}, {
      models: emulator.client(),
      hub: (run) =>
        createMemoryHub({
          run: (task, context) => {
            const controller = new AbortController()
            setTimeout(() => controller.abort(new GenerationInterrupted('another process took over')), 150)
            return run(task, { ...context, signal: controller.signal })
          },
        }),
    })
    const user = await takenOver.register()
    const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const { events } = parseSse(await (await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'Long [[emulator tokens=100 delay=10]]' } })).text())
    expect(events.at(-1)).toMatchObject({ event: 'generation.failed', data: { code: 'interrupted' } })
    const [, assistant] = (await (await user.call('GET', `/v1/conversations/${conv.id}/messages`)).json()).data
    expect(assistant.status).toBe('incomplete')
    expect((await (await user.call('GET', `/v1/generations/${events[0]!.data.generationId}`)).json())).toMatchObject({ status: 'failed', errorCode: 'interrupted' })
    takenOver.close()
  })

  it('frees a conversation whose generation ended in the hub but whose final write never landed', async () => {
    const lost = await createTestApp({}, {
      hub: (run) => {
        const hub = createMemoryHub({ run })
        return { ...hub, status: async (id) => (id === 'gen_lost' ? { state: 'failed', lastEventId: 3 } : hub.status(id)) }
      },
    })
    const user = await lost.register()
    const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const now = Date.now()
    await lost.client.batch([
      { sql: "insert into messages (id, conversation_id, parent_id, role, parts, status, created_at, updated_at) values ('msg_lost_1', ?, null, 'user', '[]', 'complete', ?, ?)", args: [conv.id, now, now] },
      { sql: "insert into messages (id, conversation_id, parent_id, role, parts, status, model_id, created_at, updated_at) values ('msg_lost_2', ?, 'msg_lost_1', 'assistant', '[]', 'streaming', 'm', ?, ?)", args: [conv.id, now, now] },
      { sql: "insert into generations (id, conversation_id, user_id, user_message_id, assistant_message_id, status, model_id, started_at) values ('gen_lost', ?, ?, 'msg_lost_1', 'msg_lost_2', 'running', 'm', ?)", args: [conv.id, user.user.id, now] },
      { sql: "update conversations set active_generation_id = 'gen_lost' where id = ?", args: [conv.id] },
    ])
    expect((await (await user.call('GET', `/v1/conversations/${conv.id}`)).json()).activeGenerationId).toBeNull()
    expect((await (await user.call('GET', '/v1/generations/gen_lost')).json()).status).toBe('failed')
    lost.close()
  })

  it('leaves alone a running generation this process never saw start, if it started after the process did', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const now = Date.now()
    await t.client.batch([
      { sql: "insert into messages (id, conversation_id, parent_id, role, parts, status, created_at, updated_at) values ('msg_else_1', ?, null, 'user', '[]', 'complete', ?, ?)", args: [conv.id, now, now] },
      { sql: "insert into messages (id, conversation_id, parent_id, role, parts, status, model_id, created_at, updated_at) values ('msg_else_2', ?, 'msg_else_1', 'assistant', '[]', 'streaming', 'm', ?, ?)", args: [conv.id, now, now] },
      { sql: "insert into generations (id, conversation_id, user_id, user_message_id, assistant_message_id, status, model_id, started_at) values ('gen_else', ?, ?, 'msg_else_1', 'msg_else_2', 'running', 'm', ?)", args: [conv.id, user.user.id, now] },
      { sql: "update conversations set active_generation_id = 'gen_else' where id = ?", args: [conv.id] },
    ])
    expect((await (await user.call('GET', `/v1/conversations/${conv.id}`)).json()).activeGenerationId).toBe('gen_else')
    expect((await (await user.call('GET', '/v1/generations/gen_else')).json()).status).toBe('running')
  })

  it('finalizes a generation with no live producer as incomplete, keeping checkpointed text', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const now = Date.now() - 3_600_000
    await t.client.batch([
      { sql: "insert into messages (id, conversation_id, parent_id, role, parts, status, created_at, updated_at) values ('msg_crash_1', ?, null, 'user', '[{\"type\":\"text\",\"text\":\"hi\"}]', 'complete', ?, ?)", args: [conv.id, now, now] },
      { sql: "insert into messages (id, conversation_id, parent_id, role, parts, status, model_id, created_at, updated_at) values ('msg_crash_2', ?, 'msg_crash_1', 'assistant', '[{\"type\":\"text\",\"text\":\"partial\"}]', 'streaming', 'm', ?, ?)", args: [conv.id, now, now] },
      { sql: "insert into generations (id, conversation_id, user_id, user_message_id, assistant_message_id, status, model_id, started_at) values ('gen_crash', ?, ?, 'msg_crash_1', 'msg_crash_2', 'running', 'm', ?)", args: [conv.id, user.user.id, now] },
      { sql: "update conversations set active_generation_id = 'gen_crash' where id = ?", args: [conv.id] },
    ])
    // Finalize on read: the hub does not know gen_crash.
    const read = await (await user.call('GET', `/v1/conversations/${conv.id}`)).json()
    expect(read.activeGenerationId).toBeNull()
    const [, assistant] = await messages(user, conv.id)
    expect(assistant).toMatchObject({ status: 'incomplete', parts: [{ type: 'text', text: 'partial' }] })
    expect((await (await user.call('GET', '/v1/generations/gen_crash')).json()).status).toBe('failed')
    expect(await sweepOrphanedGenerations(t.db, new Date(), ['gen_crash'])).toBe(0)
    expect((await turn(user, conv.id, { content: 'works again', stream: false })).status).toBe(201)
  })
})

describe('bad input', () => {
  it.each([
    { name: 'no content', body: {}, path: 'content' },
    { name: 'empty text', body: { content: '' }, path: 'content' },
    { name: 'blank text', body: { content: '   ' }, path: 'content' },
    { name: 'no parts', body: { content: [] }, path: 'content' },
    { name: 'text over 100k', body: { content: 'x'.repeat(100_001) }, path: 'content' },
    { name: '21 parts', body: { content: Array.from({ length: 21 }, () => ({ type: 'text', text: 'a' })) }, path: 'content' },
    { name: 'unknown part type', body: { content: [{ type: 'video', data: 'AAAA' }] }, path: 'content.0.type' },
    { name: 'unknown image format', body: { content: [{ type: 'image', format: 'bmp', data: 'AAAA' }] }, path: 'content.0.format' },
    { name: 'bad base64', body: { content: [{ type: 'image', format: 'png', data: 'not base64!' }] }, path: 'content.0.data' },
    { name: 'image over 3.75 MB', body: { content: [{ type: 'image', format: 'png', data: 'A'.repeat(5_300_000) }] }, path: 'content.0.data' },
    { name: 'document over 4.5 MB', body: { content: [{ type: 'document', format: 'pdf', name: 'a.pdf', data: 'A'.repeat(6_400_000) }] }, path: 'content.0.data' },
    { name: 'tool_call from user', body: { content: [{ type: 'tool_call', toolUseId: 't', name: 'x', input: {} }] }, path: 'content.0.type' },
    { name: 'stream not boolean', body: { content: 'hi', stream: 'yes' }, path: 'stream' },
    { name: 'temperature out of range', body: { content: 'hi', inference: { temperature: 7 } }, path: 'inference.temperature' },
    { name: 'empty modelId', body: { content: 'hi', modelId: '' }, path: 'modelId' },
  ])('rejects $name with 400 naming $path, and stores nothing', async ({ body, path }) => {
    const user = await t.register()
    const conv = await conversation(user)
    const problem = await expectProblem(await turn(user, conv.id, body), 400, 'validation_failed')
    const paths = (problem.errors as { path: string }[]).map((error) => error.path)
    expect(paths.some((p) => p === path || p.startsWith(`${path}.`) || path.startsWith(p))).toBe(true)
    expect(await messages(user, conv.id)).toEqual([])
  })

  it('accepts an image and a document within limits', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const png = btoa(String.fromCharCode(...new Uint8Array(64)))
    const res = await turn(user, conv.id, {
      stream: false,
      content: [
        { type: 'text', text: 'What is this?' },
        { type: 'image', format: 'png', data: png },
        { type: 'document', format: 'txt', name: 'notes', data: btoa('hello') },
      ],
    })
    expect(res.status).toBe(201)
    expect((await res.json()).userMessage.parts).toHaveLength(3)
  })

  it('enforces the MODEL_IDS allow-list from our side, also against catalog models it does not list', async () => {
    const strict = await createTestApp({ MODEL_IDS: 'amazon.nova-lite-v1:0,us.anthropic.claude-haiku-4-5-20251001-v1:0' }, { models: emulator.client() })
    const user = await strict.register()
    await expectProblem(await user.call('POST', '/v1/conversations', { body: { modelId: 'evil-model' } }), 400, 'validation_failed')
    const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    await expectProblem(await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'hi', modelId: 'amazon.nova-pro-v1:0' } }), 400, 'validation_failed')
    expect((await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'hi', modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0', stream: false } })).status).toBe(201)
    strict.close()
  })

  it("maps Bedrock's ValidationException for a catalog model the region does not offer to 400", async () => {
    const picky = await startHttpEmulator({ models: ['amazon.nova-lite-v1:0'] })
    const app = await createTestApp({}, { models: picky.client() })
    const user = await app.register()
    const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const res = await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'hi', modelId: 'anthropic.claude-3-haiku-20240307-v1:0', stream: false } })
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(problem.detail).toContain('model identifier is invalid')
    expect(problem.generationId).toMatch(/^gen_/)
    app.close()
    await picky.close()
  })

  it('accepts turn bodies above MAX_BODY_BYTES up to MAX_TURN_BODY_BYTES', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const image = 'A'.repeat(2_000_000)
    const res = await turn(user, conv.id, { stream: false, content: [{ type: 'text', text: 'big' }, { type: 'image', format: 'png', data: image }] })
    expect(res.status).toBe(201)
    await expectProblem(await user.call('POST', '/v1/conversations', { body: { title: 'x', metadata: { blob: image } } }), 413, 'payload_too_large')
  })
})
