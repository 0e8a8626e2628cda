// What bounds a turn: deadlines on the model call, the history fitted to the model, the conversation size cap, and
// Bedrock's error text kept out of responses and events.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BedrockClient as ModelClient, ConverseRequest } from '../../src/bedrock/types'
import type { Logger } from '../../src/lib/logger'
import { createTestApp, expectProblem, startHttpEmulator, type TestApp } from '../helpers'
import { parseSse } from '../sse'

let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
const apps: TestApp[] = []

beforeAll(async () => {
  emulator = await startHttpEmulator()
})
afterAll(async () => {
  for (const app of apps) app.close()
  await emulator.close()
})

/** An app on the HTTP emulator that records the requests it sends and what it logs. */
async function app(env: Record<string, string> = {}, models?: ModelClient) {
  const requests: ConverseRequest[] = []
  const logged: { message: string; fields: Record<string, unknown> }[] = []
  const client = models ?? emulator.client({ baseDelayMs: 5 })
  const recording: ModelClient = {
    converse: (request, options) => client.converse(request, options),
    converseStream: (request, options) => {
      requests.push(request)
      return client.converseStream(request, options)
    },
  }
  const record = (message: string, fields: Record<string, unknown> = {}) => void logged.push({ message, fields })
  const logger: Logger = { debug: () => {}, info: () => {}, warn: record, error: record }
  const t = await createTestApp(env, { models: recording, logger })
  apps.push(t)
  const user = await t.register()
  const conversation = async () => (await (await user.call('POST', '/v1/conversations', { body: {} })).json()).id as string
  const turn = (id: string, body: Record<string, unknown>) => user.call('POST', `/v1/conversations/${id}/messages`, { body })
  const messages = async (id: string) => (await (await user.call('GET', `/v1/conversations/${id}/messages`)).json()).data
  return { t, user, requests, logged, conversation, turn, messages }
}

const textOf = (message: { parts: { type: string; text?: string }[] }) =>
  message.parts.filter((part) => part.type === 'text').map((part) => part.text).join('')

describe('deadlines on the model call', () => {
  it('ends a generation whose first token never comes as upstream_timeout (SSE), and frees the conversation', async () => {
    const a = await app({ UPSTREAM_FIRST_TOKEN_TIMEOUT_SECONDS: '0.2' })
    const id = await a.conversation()
    const { events } = parseSse(await (await a.turn(id, { content: 'Think [[emulator ttft=1000000]]' })).text())
    expect(events.map((e) => e.event)).toEqual(['generation.started', 'generation.failed'])
    expect(events[1]!.data).toMatchObject({ code: 'upstream_timeout', retryable: true })
    expect(String(events[1]!.data.message)).toMatch(/did not start its answer within 0.2 s/)
    const [, assistant] = await a.messages(id)
    expect(assistant).toMatchObject({ status: 'failed', parts: [] })
    const generation = await (await a.user.call('GET', `/v1/generations/${events[0]!.data.generationId}`)).json()
    expect(generation).toMatchObject({ status: 'failed', errorCode: 'upstream_timeout' })
    expect((await (await a.user.call('GET', `/v1/conversations/${id}`)).json()).activeGenerationId).toBeNull()
  })

  it('answers 504 upstream_timeout for stream: false', async () => {
    const a = await app({ UPSTREAM_FIRST_TOKEN_TIMEOUT_SECONDS: '0.2' })
    const id = await a.conversation()
    const problem = await expectProblem(await a.turn(id, { content: 'Think [[emulator ttft=1000000]]', stream: false }), 504, 'upstream_timeout')
    expect(problem.generationId).toMatch(/^gen_/)
  })

  it('ends a stalled stream at the idle deadline, keeping the partial text (SSE and stream: false)', async () => {
    const a = await app({ UPSTREAM_IDLE_TIMEOUT_SECONDS: '0.2' })
    const id = await a.conversation()
    const { events } = parseSse(await (await a.turn(id, { content: 'Stall [[emulator tokens=5 delay=1000000]]' })).text())
    expect(events.map((e) => e.event)).toEqual(['generation.started', 'text.delta', 'generation.failed'])
    expect(events[2]!.data).toMatchObject({ code: 'upstream_timeout' })
    expect(String(events[2]!.data.message)).toMatch(/stopped sending its answer for 0.2 s/)
    const [, assistant] = await a.messages(id)
    expect(assistant.status).toBe('incomplete')
    expect(textOf(assistant)).toBe(events[1]!.data.delta)

    const problem = await expectProblem(await a.turn(id, { content: 'Stall again [[emulator tokens=5 delay=1000000]]', stream: false }), 504, 'upstream_timeout')
    const kept = (await a.messages(id)).find((message: { id: string }) => message.id === problem.assistantMessageId)
    expect(kept.status).toBe('incomplete')
    expect(textOf(kept).length).toBeGreaterThan(0)
  })

  it('caps the wall time of a generation that keeps streaming', async () => {
    const a = await app({ GENERATION_MAX_SECONDS: '0.5' })
    const id = await a.conversation()
    const { events } = parseSse(await (await a.turn(id, { content: 'Forever [[emulator tokens=2000 delay=20]]' })).text())
    expect(events.at(-1)).toMatchObject({ event: 'generation.failed', data: { code: 'upstream_timeout' } })
    expect(String(events.at(-1)!.data.message)).toMatch(/ran past its limit of 0.5 s/)
    expect(events.filter((e) => e.event === 'text.delta').length).toBeGreaterThan(0)
    expect(events.filter((e) => e.event === 'text.delta').length).toBeLessThan(2000)
    const [, assistant] = await a.messages(id)
    expect(assistant.status).toBe('incomplete')
  })

  it('stops waiting for response headers at the connect deadline, even when fetch ignores the signal', async () => {
    const a = await app({ UPSTREAM_CONNECT_TIMEOUT_SECONDS: '0.2' }, emulator.client({ fetch: () => new Promise<Response>(() => {}) }))
    const id = await a.conversation()
    const { events } = parseSse(await (await a.turn(id, { content: 'hello' })).text())
    expect(events.map((e) => e.event)).toEqual(['generation.started', 'generation.failed'])
    expect(events[1]!.data).toMatchObject({ code: 'upstream_timeout' })
    expect(String(events[1]!.data.message)).toMatch(/did not answer within 0.2 s/)
  })

  it('still tells a cancel from a timeout', async () => {
    const a = await app({ UPSTREAM_FIRST_TOKEN_TIMEOUT_SECONDS: '30' })
    const id = await a.conversation()
    const res = a.turn(id, { content: 'Think [[emulator ttft=1000000]]' }).then((r) => r.text())
    let generationId: string | null = null
    for (let i = 0; i < 250 && !generationId; i++) {
      generationId = (await (await a.user.call('GET', `/v1/conversations/${id}`)).json()).activeGenerationId
      if (!generationId) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect((await a.user.call('POST', `/v1/generations/${generationId}/cancel`)).status).toBe(202)
    expect(parseSse(await res).events.at(-1)!.event).toBe('generation.cancelled')
  })
})

describe('history fitted to the model', () => {
  const png = btoa(String.fromCharCode(...new Uint8Array(64)))
  const images = (n: number) => Array.from({ length: n }, () => ({ type: 'image', format: 'png', data: png }))
  const countImages = (request: ConverseRequest) =>
    request.messages.flatMap((message) => message.content).filter((block) => 'image' in block).length

  it('drops media of old turns past 20 images and says so in the metadata; later text turns work', async () => {
    const a = await app()
    const id = await a.conversation()
    expect((await a.turn(id, { content: [{ type: 'text', text: 'nineteen' }, ...images(19)], stream: false })).status).toBe(201)
    const second = await (await a.turn(id, { content: [{ type: 'text', text: 'one' }, ...images(1)], stream: false })).json()
    expect(second.assistantMessage.metadata).toBeNull()
    a.requests.length = 0
    const third = await a.turn(id, { content: [{ type: 'text', text: 'one more' }, ...images(1)], stream: false })
    expect(third.status).toBe(201)
    expect((await third.json()).assistantMessage.metadata).toEqual({ context: { omittedMessages: 0, omittedImages: 19, omittedDocuments: 0 } })
    expect(countImages(a.requests[0]!)).toBe(2)
    expect(a.requests[0]!.messages[0]!.content).toContainEqual({ text: '[image omitted]' })

    const fourth = await a.turn(id, { content: 'and now only text', stream: false })
    expect(fourth.status).toBe(201)
    const listed = await a.messages(id)
    expect(listed.at(-1).metadata).toEqual({ context: { omittedMessages: 0, omittedImages: 19, omittedDocuments: 0 } })
    expect(listed[0].metadata).toBeNull()
  })

  it('drops the oldest turns to fit the context window, keeping the new one', async () => {
    // 2600 - 2048 (maxTokens) leaves about 550 tokens (2200 characters) for the history.
    const a = await app({ DEFAULT_CONTEXT_TOKENS: '2600' })
    const id = await a.conversation()
    expect((await a.turn(id, { content: `first ${'a'.repeat(1200)}`, stream: false })).status).toBe(201)
    a.requests.length = 0
    const res = await a.turn(id, { content: `second ${'b'.repeat(1200)}`, stream: false })
    expect(res.status).toBe(201)
    const { assistantMessage } = await res.json()
    expect(assistantMessage.metadata.context.omittedMessages).toBeGreaterThanOrEqual(1)
    const sent = JSON.stringify(a.requests[0]!.messages)
    expect(sent).not.toContain('aaaa')
    expect(sent).toContain('bbbb')
  })
})

describe('conversation size cap', () => {
  it('refuses a turn past MAX_CONVERSATION_BYTES with 413, keeping a running counter', async () => {
    const a = await app({ MAX_CONVERSATION_BYTES: '4000' })
    const id = await a.conversation()
    expect((await a.turn(id, { content: 'x'.repeat(1500), stream: false })).status).toBe(201)
    const stored = async () =>
      (await a.t.client.execute({ sql: 'select stored_bytes from conversations where id = ?', args: [id] })).rows[0]!.stored_bytes
    const actual = async () =>
      (await a.t.client.execute({ sql: 'select sum(length(cast(parts as blob))) as n from messages where conversation_id = ?', args: [id] })).rows[0]!.n
    expect(await stored()).toBe(await actual())

    const problem = await expectProblem(await a.turn(id, { content: 'y'.repeat(2500), stream: false }), 413, 'payload_too_large')
    expect(problem.detail).toMatch(/conversation is full.*Start a new conversation/)
    expect(await a.messages(id)).toHaveLength(2)
    expect((await a.turn(id, { content: 'short', stream: false })).status).toBe(201)
    expect(await stored()).toBe(await actual())
  })

  it('backfills the counter of existing conversations in the migration', async () => {
    const a = await app()
    const id = await a.conversation()
    await a.turn(id, { content: 'before the migration', stream: false })
    await a.t.client.execute({ sql: 'update conversations set stored_bytes = 0 where id = ?', args: [id] })
    const statements = readFileSync(new URL('../../migrations/0002_conversation_size.sql', import.meta.url), 'utf8').split('--> statement-breakpoint')
    await a.t.client.execute(statements.find((statement) => /^\s*UPDATE/.test(statement))!)
    const row = (await a.t.client.execute({ sql: 'select stored_bytes from conversations where id = ?', args: [id] })).rows[0]!
    const sum = (await a.t.client.execute({ sql: 'select sum(length(cast(parts as blob))) as n from messages where conversation_id = ?', args: [id] })).rows[0]!
    expect(row.stored_bytes).toBe(sum.n)
    expect(Number(row.stored_bytes)).toBeGreaterThan(20)
  })
})

describe("Bedrock's error text stays out of responses", () => {
  const arn = 'User: arn:aws:sts::123456789012:assumed-role/EdgeChatRole/i-0abc is not authorized to perform: bedrock:InvokeModel'
  const leaks = (text: string) => /arn:aws|123456789012|EdgeChatRole/.test(text)

  it('sends a generic message with our code for a pre-stream error (stream: false and SSE), and logs the upstream one', async () => {
    const a = await app()
    const id = await a.conversation()
    const directive = `[[emulator error=AccessDeniedException error-message=${JSON.stringify(arn)}]]`
    const res = await a.turn(id, { content: directive, stream: false })
    const text = await res.clone().text()
    const problem = await expectProblem(res, 502, 'upstream_error')
    expect(leaks(text)).toBe(false)
    expect(problem.detail).toBe('The model service returned an error')

    const body = await (await a.turn(id, { content: `again ${directive}` })).text()
    expect(leaks(body)).toBe(false)
    expect(parseSse(body).events.at(-1)!.data).toMatchObject({ code: 'upstream_error', message: 'The model service returned an error' })
    const generation = await (await a.user.call('GET', `/v1/generations/${problem.generationId}`)).json()
    expect(leaks(JSON.stringify(generation))).toBe(false)

    const entry = a.logged.find((line) => line.fields.generationId === problem.generationId)
    expect(entry).toMatchObject({ fields: { upstreamMessage: arn, upstreamType: 'AccessDeniedException', upstreamRequestId: expect.any(String) } })
  })

  it('does the same for a mid-stream exception', async () => {
    const a = await app()
    const id = await a.conversation()
    const body = await (await a.turn(id, { content: `[[emulator tokens=5 fail-after=2 fail-with=throttlingException error-message=${JSON.stringify(arn)}]]` })).text()
    expect(leaks(body)).toBe(false)
    expect(parseSse(body).events.at(-1)!.data).toMatchObject({ code: 'rate_limited', message: 'The model service is rate limiting requests' })
    expect(a.logged.some((line) => line.fields.upstreamMessage === arn && typeof line.fields.upstreamRequestId === 'string')).toBe(true)
  })

  it('keeps a useful message for a ValidationException the user can fix', async () => {
    const a = await app()
    const id = await a.conversation()
    const res = await a.turn(id, { content: `[[emulator error=ValidationException error-message=${JSON.stringify(`Too many images: ${arn}`)}]]`, stream: false })
    const text = await res.clone().text()
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(leaks(text)).toBe(false)
    expect(problem.detail).toBe('The model rejected the request: it has too many images')
  })
})
