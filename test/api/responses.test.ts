// POST /v1/responses and /v1/responses/{id}… read by the official `openai` client over real HTTP: the app served by
// @hono/node-server (memory hub), Bedrock's emulator on its own port, every request the model received recorded.
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import OpenAI from 'openai'
import type { FunctionTool, ResponseInputItem, ResponseStreamEvent } from 'openai/resources/responses/responses'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BedrockClient, ConverseRequest } from '../../src/bedrock/types'
import { createTestApp, startHttpEmulator, type TestApp } from '../helpers'

let t: TestApp
let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
let server: ReturnType<typeof serve>
let baseURL: string
const requests: ConverseRequest[] = []

beforeAll(async () => {
  emulator = await startHttpEmulator()
  const models = emulator.client({ baseDelayMs: 5 })
  const recording: BedrockClient = {
    converse: (request, options) => models.converse(request, options),
    converseStream: (request, options) => {
      requests.push(request)
      return models.converseStream(request, options)
    },
  }
  t = await createTestApp({}, { models: recording })
  server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started))
  })
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
})
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
  t.close()
  await emulator.close()
})

const MODEL = 'amazon.nova-lite-v1:0'
const STRUCTURED_MODEL = 'anthropic.claude-haiku-4-5-20251001-v1:0'

async function apiKey(scopes?: string[]) {
  const user = await t.register()
  const res = await user.call('POST', '/v1/api-keys', { body: { name: 'responses', ...(scopes ? { scopes } : {}) } })
  expect(res.status).toBe(201)
  return { user, key: (await res.json()).key as string }
}

const clientFor = (key: string) => new OpenAI({ apiKey: key, baseURL, maxRetries: 0 })

async function client() {
  return clientFor((await apiKey()).key)
}

const lastRequest = () => requests[requests.length - 1]!

const WEATHER: FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
}

/** Raw SSE frames: each `event:` line and its parsed `data:`, and the literal data of frames that are not JSON. */
function frames(body: string) {
  return body
    .split('\n\n')
    .filter((frame) => frame.trim() !== '' && !frame.startsWith(':'))
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? null
      const data = /^data: (.*)$/m.exec(frame)![1]!
      return { event, data: data.startsWith('{') ? JSON.parse(data) : data }
    })
}

describe('responses with the openai client', () => {
  it('answers a stored response, readable by id and as a turn of a conversation the native API shows', async () => {
    const { user, key } = await apiKey()
    const openai = clientFor(key)
    const response = await openai.responses.create({ model: MODEL, input: 'Hello there model', metadata: { ticket: 'T-1' } })
    expect(response).toMatchObject({
      id: expect.stringMatching(/^resp_/),
      object: 'response',
      status: 'completed',
      model: MODEL,
      store: true,
      background: false,
      error: null,
      incomplete_details: null,
      previous_response_id: null,
      metadata: { ticket: 'T-1' },
      output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'You said: "Hello there model". This is the Bedrock emulator.', annotations: [] }] }],
    })
    expect(response.output_text).toBe('You said: "Hello there model". This is the Bedrock emulator.')
    expect(response.usage!.input_tokens).toBeGreaterThan(0)
    expect(response.usage!.output_tokens).toBeGreaterThan(0)
    expect(response.usage!.input_tokens_details.cached_tokens).toBe(0)
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + response.usage!.output_tokens)
    expect(response.completed_at).toBeGreaterThanOrEqual(response.created_at)

    const again = await openai.responses.retrieve(response.id)
    expect(again).toEqual({ ...response, completed_at: again.completed_at })

    const list = await (await user.call('GET', '/v1/conversations')).json()
    expect(list.data).toHaveLength(1)
    expect(list.data[0].metadata).toEqual({ source: 'responses' })
    const messages = await (await user.call('GET', `/v1/conversations/${list.data[0].id}/messages`)).json()
    expect(messages.data.map((message: { role: string; parts: unknown[] }) => [message.role, message.parts])).toEqual([
      ['user', [{ type: 'text', text: 'Hello there model' }]],
      ['assistant', [{ type: 'text', text: 'You said: "Hello there model". This is the Bedrock emulator.' }]],
    ])
  })

  it('streams the Open Responses events: event equal to data.type, sequence numbers from 0, then [DONE]', async () => {
    const { key } = await apiKey()
    const res = await fetch(`${baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, input: 'Stream [[emulator tokens=3]]', stream: true }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const body = await res.text()
    expect(body).not.toMatch(/^id:/m)
    const all = frames(body)
    expect(all.at(-1)).toEqual({ event: null, data: '[DONE]' })
    const events = all.slice(0, -1)
    expect(events.every((frame) => frame.event === frame.data.type)).toBe(true)
    expect(events.map((frame) => frame.data.sequence_number)).toEqual(events.map((_, i) => i))
    expect(events.map((frame) => frame.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ])
    const completed = events.at(-1)!.data.response
    const text = events.filter((frame) => frame.event === 'response.output_text.delta').map((frame) => frame.data.delta).join('')
    expect(completed.output[0].content[0].text).toBe(text)
    expect(events[7]!.data).toMatchObject({ text, item_id: completed.output[0].id, output_index: 0, content_index: 0 })
    expect(events[0]!.data.response).toMatchObject({ id: completed.id, status: 'in_progress', output: [] })

    const openai = clientFor(key)
    const stream = await openai.responses.create({ model: MODEL, input: 'Again [[emulator tokens=4]]', stream: true })
    const seen: ResponseStreamEvent[] = []
    for await (const event of stream) seen.push(event)
    expect(seen[0]!.type).toBe('response.created')
    const last = seen.at(-1)!
    expect(last.type).toBe('response.completed')
    if (last.type !== 'response.completed') return
    expect(last.response.output_text).toBe(seen.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : [])).join(''))
    expect((await openai.responses.retrieve(last.response.id)).output).toEqual(last.response.output)
  })

  it('runs in the background; a dropped stream resumes from starting_after with the same events', async () => {
    const openai = await client()
    const created = await openai.responses.create({ model: MODEL, input: 'Slowly [[emulator tokens=12 delay=30]]', background: true })
    expect(created).toMatchObject({ status: 'queued', background: true, output: [] })

    const first = await openai.responses.retrieve(created.id, { stream: true })
    const before: ResponseStreamEvent[] = []
    for await (const event of first) {
      before.push(event)
      if (event.type === 'response.output_text.delta' && before.filter((seen) => seen.type === 'response.output_text.delta').length === 3) break
    }
    const cursor = before.at(-1)!.sequence_number
    const resumed = await openai.responses.retrieve(created.id, { stream: true, starting_after: cursor })
    const after: ResponseStreamEvent[] = []
    for await (const event of resumed) after.push(event)
    expect(after[0]!.sequence_number).toBe(cursor + 1)
    expect(after.at(-1)!.type).toBe('response.completed')

    const whole: ResponseStreamEvent[] = []
    for await (const event of await openai.responses.retrieve(created.id, { stream: true })) whole.push(event)
    expect(whole.map((event) => [event.type, event.sequence_number])).toEqual([...before, ...after].map((event) => [event.type, event.sequence_number]))
    expect(whole.map((event) => event.type).slice(0, 3)).toEqual(['response.created', 'response.queued', 'response.in_progress'])
    const done = await openai.responses.retrieve(created.id)
    expect(done.status).toBe('completed')
    expect(done.output_text.split(' ')).toHaveLength(12)
  })

  it('continues a conversation with previous_response_id; instructions are per response', async () => {
    const openai = await client()
    const first = await openai.responses.create({ model: MODEL, instructions: 'Be a pirate.', input: 'My name is Alice' })
    const second = await openai.responses.create({ model: MODEL, previous_response_id: first.id, instructions: 'Be brief.', input: 'What is my name' })
    expect(second.previous_response_id).toBe(first.id)
    expect(second.instructions).toBe('Be brief.')
    expect(second.output_text).toBe('You said: "What is my name". This is the Bedrock emulator.')
    const sent = lastRequest()
    expect(sent.system).toEqual([{ text: 'Be brief.' }])
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ text: 'My name is Alice' }] },
      { role: 'assistant', content: [{ text: first.output_text }] },
      { role: 'user', content: [{ text: 'What is my name' }] },
    ])
    // The model of the previous response carries over when none is named.
    const third = await openai.responses.create({ previous_response_id: second.id, input: 'And now' } as never)
    expect((third as { model: string }).model).toBe(MODEL)
  })

  it('stores a multi-message input (system, user, assistant, user) as the conversation’s history', async () => {
    const { user, key } = await apiKey()
    const openai = clientFor(key)
    const response = await openai.responses.create({
      model: MODEL,
      input: [
        { type: 'message', role: 'system', content: 'You are a pirate.' },
        { type: 'message', role: 'user', content: 'My name is Alice.' },
        { type: 'message', role: 'assistant', content: 'Hello Alice!' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is my name?' }] },
      ],
    })
    expect(response.status).toBe('completed')
    expect(lastRequest().system).toEqual([{ text: 'You are a pirate.' }])
    expect(lastRequest().messages).toHaveLength(3)
    const conversation = (await (await user.call('GET', '/v1/conversations')).json()).data[0]
    const messages = (await (await user.call('GET', `/v1/conversations/${conversation.id}/messages`)).json()).data
    expect(messages.map((message: { role: string }) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant'])
    expect(messages[1].parts).toEqual([{ type: 'text', text: 'Hello Alice!' }])
  })

  it('lists a response’s input items, newest first by default, in pages, and only for who may read it', async () => {
    const openai = await client()
    const first = await openai.responses.create({
      model: MODEL,
      input: [
        { type: 'message', role: 'user', content: 'My name is Alice.' },
        { type: 'message', role: 'assistant', content: 'Hello Alice!' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather? [[emulator tool=get_weather input={"city":"Rome"}]]' }] },
      ],
      tools: [WEATHER],
    })
    const call = first.output.find((item) => item.type === 'function_call')
    if (call?.type !== 'function_call') throw new Error('no function call')
    const second = await openai.responses.create({
      model: MODEL,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'Warm' }],
      tools: [WEATHER],
    })

    const items = []
    for await (const item of openai.responses.inputItems.list(first.id, { order: 'asc', limit: 2 })) items.push(item)
    expect(items.map((item) => (item.type === 'message' ? `${item.role}:${JSON.stringify(item.content)}` : item.type))).toEqual([
      'user:[{"type":"input_text","text":"My name is Alice."}]',
      'assistant:[{"type":"output_text","text":"Hello Alice!","annotations":[]}]',
      'user:[{"type":"input_text","text":"Weather? [[emulator tool=get_weather input={\\"city\\":\\"Rome\\"}]]"}]',
    ])
    const newestFirst = await openai.responses.inputItems.list(first.id)
    expect(newestFirst.data.map((item) => item.id)).toEqual(items.map((item) => item.id).reverse())
    // A follow-up's items are what it added: the function call's output, not the earlier turns.
    const followUp = await openai.responses.inputItems.list(second.id)
    expect(followUp.data).toEqual([expect.objectContaining({ type: 'function_call_output', call_id: call.call_id, output: 'Warm' })])
    expect(followUp.has_more).toBe(false)
    await expect((await client()).responses.inputItems.list(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('round-trips a client-declared function tool, stored and stateless', async () => {
    const openai = await client()
    const first = await openai.responses.create({ model: MODEL, input: 'Weather in Rome? [[emulator tool=get_weather input={"city":"Rome"}]]', tools: [WEATHER] })
    expect(first.status).toBe('completed')
    const call = first.output.find((item) => item.type === 'function_call')
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Rome"}', status: 'completed', call_id: expect.any(String) })
    if (call?.type !== 'function_call') return
    expect(lastRequest().toolConfig?.tools[0]!.toolSpec.name).toBe('get_weather')

    const second = await openai.responses.create({
      model: MODEL,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'Warm and sunny' }],
      tools: [WEATHER],
    })
    expect(second.output_text).toBe('Tool results: Warm and sunny')
    expect(lastRequest().messages.at(-1)).toEqual({ role: 'user', content: [{ toolResult: { toolUseId: call.call_id, content: [{ text: 'Warm and sunny' }], status: 'success' } }] })
    // Bedrock reads tool calls in the history only with the tools declared: a follow-up without them is a clear 400.
    await expect(openai.responses.create({ model: MODEL, previous_response_id: second.id, input: 'Thanks' })).rejects.toMatchObject({ status: 400, param: 'tools' })

    const input: ResponseInputItem[] = [
      { role: 'user', content: 'Weather in Oslo?' },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'Cold' },
    ]
    const stateless = await openai.responses.create({ model: MODEL, input, tools: [WEATHER], store: false })
    expect(stateless.output_text).toBe('Tool results: Cold')
    expect((stateless as unknown as { store: boolean }).store).toBe(false)
    await expect(openai.responses.retrieve(stateless.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)

    const streamed = await openai.responses.create({ model: MODEL, input: 'Stream a call [[emulator tool=get_weather input={"city":"Lima"}]]', tools: [WEATHER], stream: true })
    const types: string[] = []
    for await (const event of streamed) {
      types.push(event.type)
      if (event.type === 'response.function_call_arguments.done') expect(event.arguments).toBe('{"city":"Lima"}')
    }
    expect(types).toContain('response.function_call_arguments.delta')
    expect(types.at(-1)).toBe('response.completed')
  })

  it('maps text.format json_schema to structured output where the model supports it, else 400', async () => {
    const openai = await client()
    const schema = { type: 'object', properties: { city: { type: 'string' }, temperature: { type: 'number' }, tags: { type: 'array', items: { type: 'string' } } }, required: ['city', 'temperature', 'tags'], additionalProperties: false }
    const response = await openai.responses.create({
      model: STRUCTURED_MODEL,
      input: 'Weather in Rome as JSON',
      text: { format: { type: 'json_schema', name: 'weather', schema, strict: true } },
    })
    const parsed = JSON.parse(response.output_text)
    expect(Object.keys(parsed).sort()).toEqual(['city', 'tags', 'temperature'])
    expect(typeof parsed.city).toBe('string')
    expect(typeof parsed.temperature).toBe('number')
    expect(response.text!.format).toMatchObject({ type: 'json_schema', name: 'weather' })
    expect(lastRequest().outputConfig).toEqual({ textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'weather' } } } })

    await expect(
      openai.responses.create({ model: MODEL, input: 'JSON please', text: { format: { type: 'json_schema', name: 'weather', schema } } }),
    ).rejects.toMatchObject({ status: 400, code: 'validation_failed', param: 'text.format' })
    await expect(openai.responses.create({ model: STRUCTURED_MODEL, input: 'JSON please', text: { format: { type: 'json_object' } } })).rejects.toMatchObject({
      status: 400,
      param: 'text.format',
    })
  })

  it('cancels a background response, keeping its partial output; deletes a response', async () => {
    const openai = await client()
    const created = await openai.responses.create({ model: MODEL, input: 'Long [[emulator tokens=400 delay=20]]', background: true })
    const stream = await openai.responses.retrieve(created.id, { stream: true })
    for await (const event of stream) if (event.type === 'response.output_text.delta') break
    const cancelled = await openai.responses.cancel(created.id)
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.output_text.length).toBeGreaterThan(0)
    expect(cancelled.output_text.split(' ').length).toBeLessThan(400)
    expect((await openai.responses.retrieve(created.id)).status).toBe('cancelled')
    const replay: ResponseStreamEvent[] = []
    for await (const event of await openai.responses.retrieve(created.id, { stream: true })) replay.push(event)
    expect(replay.at(-1)).toMatchObject({ type: 'response.failed', response: { status: 'cancelled' } })
    expect((await openai.responses.cancel(created.id)).status).toBe('cancelled')

    await openai.responses.delete(created.id)
    await expect(openai.responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(openai.responses.create({ model: MODEL, previous_response_id: created.id, input: 'Go on' })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it('ends a stream that fails mid-way with response.failed; a failure before any output is an HTTP error', async () => {
    const openai = await client()
    const stream = await openai.responses.create({ model: MODEL, input: 'Fail [[emulator tokens=6 fail-after=2]]', stream: true })
    const seen: ResponseStreamEvent[] = []
    for await (const event of stream) seen.push(event)
    expect(seen.at(-1)).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'upstream_error' } } })
    expect(seen.filter((event) => event.type === 'response.output_item.done')).toMatchObject([{ item: { status: 'incomplete' } }])

    await expect(openai.responses.create({ model: MODEL, input: 'Busy [[emulator error=ThrottlingException]]' })).rejects.toBeInstanceOf(OpenAI.RateLimitError)
    await expect(openai.responses.create({ model: MODEL, input: 'Busy again [[emulator error=ThrottlingException]]', stream: true })).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    )
    const short = await openai.responses.create({ model: MODEL, input: 'Short [[emulator tokens=20]]', max_output_tokens: 5 })
    expect(short).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } })
  })

  it('answers errors in OpenAI’s shape', async () => {
    await expect(clientFor('sk_nope').responses.create({ model: MODEL, input: 'Hi' })).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
    const { key } = await apiKey()
    const openai = clientFor(key)
    await expect(openai.responses.create({ model: 'no.such-model', input: 'Hi' })).rejects.toMatchObject({ status: 400, code: 'validation_failed', param: 'model' })
    await expect(openai.responses.create({ model: MODEL, input: 'Hi', store: false, background: true })).rejects.toMatchObject({ status: 400, param: 'background' })
    await expect(openai.responses.create({ model: MODEL, input: [] })).rejects.toMatchObject({ status: 400, param: 'input' })
    await expect(openai.responses.create({ model: MODEL, input: [{ role: 'assistant', content: 'Only me' }] })).rejects.toMatchObject({ status: 400, param: 'input' })
    await expect(openai.responses.create({ model: MODEL, input: 'Hi', tools: [{ type: 'web_search' }] })).rejects.toMatchObject({ status: 400, param: 'tools.0.type' })
    await expect(
      openai.responses.create({ model: MODEL, input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/cat.png', detail: 'auto' }] }] }),
    ).rejects.toMatchObject({ status: 400, param: 'input.0.content.0.image_url' })
    await expect(openai.responses.create({ model: MODEL, input: 'Hi', previous_response_id: 'resp_nothing' })).rejects.toMatchObject({ status: 404, code: 'not_found' })
    await expect(openai.responses.retrieve('resp_nothing')).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(openai.responses.create({ model: MODEL, input: 'Hi', temperature: 3 })).rejects.toMatchObject({ status: 400, code: 'validation_failed' })
    // Earlier input messages are stored too, under the same limits as a turn's.
    const blank = [{ role: 'user' as const, content: '   ' }, { role: 'assistant' as const, content: 'Yes?' }, { role: 'user' as const, content: 'Hi' }]
    await expect(openai.responses.create({ model: MODEL, input: blank })).rejects.toMatchObject({ status: 400, code: 'validation_failed' })

    const res = await fetch(`${baseURL}/responses`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"input": ' })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'validation_failed' } })

    // Another user cannot see, continue, cancel or delete it; a read-only key reads but cannot create.
    const mine = await openai.responses.create({ model: MODEL, input: 'Private' })
    const other = await client()
    await expect(other.responses.retrieve(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(other.responses.create({ model: MODEL, input: 'Hi', previous_response_id: mine.id })).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(other.responses.cancel(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(other.responses.delete(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    const reader = clientFor((await apiKey(['read'])).key)
    await expect(reader.responses.create({ model: MODEL, input: 'Hi' })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError)
  })
})


/** The fields the Open Responses specification's response schema (ResponseResource) requires. */
const REQUIRED = [
  'id', 'object', 'created_at', 'completed_at', 'status', 'incomplete_details', 'model', 'previous_response_id', 'instructions', 'output',
  'error', 'tools', 'tool_choice', 'truncation', 'parallel_tool_calls', 'text', 'top_p', 'presence_penalty', 'frequency_penalty',
  'top_logprobs', 'temperature', 'reasoning', 'user', 'usage', 'max_output_tokens', 'max_tool_calls', 'store', 'background',
  'service_tier', 'metadata', 'safety_identifier', 'prompt_cache_key',
]

// The requests of the Open Responses compliance suite (bin/compliance-test.ts in its specification repository), sent
// the way it sends them (fetch, `stream` set), with its checks: the suite itself needs its generated schemas, which
// are not available offline here. The emulator calls a tool only when told, so the tool prompts carry a directive.
describe('the Open Responses compliance requests', () => {
  const PNG =
    'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
  const weather = {
    type: 'function',
    name: 'get_weather',
    description: 'Get the current weather for a location',
    parameters: { type: 'object', properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' } }, required: ['location'] },
  }
  const ask = '[[emulator tool=get_weather input={"location":"San Francisco, CA"}]]'
  const templates: { id: string; streaming?: boolean; body: Record<string, unknown>; expect: (response: Record<string, any>, events: Record<string, any>[]) => void }[] = [
    { id: 'basic-response', body: { input: [{ type: 'message', role: 'user', content: 'Say hello in exactly 3 words.' }] }, expect: (r) => expect(r.status).toBe('completed') },
    { id: 'streaming-response', streaming: true, body: { input: [{ type: 'message', role: 'user', content: 'Count from 1 to 5.' }] }, expect: (r) => expect(r.status).toBe('completed') },
    {
      id: 'system-prompt',
      body: { input: [{ type: 'message', role: 'system', content: 'You are a pirate. Always respond in pirate speak.' }, { type: 'message', role: 'user', content: 'Say hello.' }] },
      expect: (r) => expect(r.status).toBe('completed'),
    },
    {
      id: 'tool-calling',
      body: { input: [{ type: 'message', role: 'user', content: `What's the weather like in San Francisco? ${ask}` }], tools: [weather] },
      expect: (r) => expect(r.output.some((item: { type: string }) => item.type === 'function_call')).toBe(true),
    },
    {
      id: 'tool-calling-streaming',
      streaming: true,
      body: { input: [{ type: 'message', role: 'user', content: `What's the weather like in San Francisco? ${ask}` }], tools: [weather] },
      expect: (_, events) => {
        const types = events.map((event) => event.type)
        expect(events.some((event) => event.type === 'response.output_item.added' && event.item.type === 'function_call')).toBe(true)
        expect(types).toContain('response.function_call_arguments.delta')
        expect(types).toContain('response.function_call_arguments.done')
        expect(events.some((event) => event.type === 'response.output_item.done' && event.item.type === 'function_call')).toBe(true)
      },
    },
    {
      id: 'image-input',
      body: { input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What do you see in this image? Answer in one sentence.' }, { type: 'input_image', image_url: PNG }] }] },
      expect: (r) => expect(r.status).toBe('completed'),
    },
    {
      id: 'multi-turn',
      body: {
        input: [
          { type: 'message', role: 'user', content: 'My name is Alice.' },
          { type: 'message', role: 'assistant', content: 'Hello Alice! Nice to meet you. How can I help you today?' },
          { type: 'message', role: 'user', content: 'What is my name?' },
        ],
      },
      expect: (r) => expect(r.status).toBe('completed'),
    },
  ]

  for (const template of templates) {
    it(template.id, async () => {
      const { key } = await apiKey()
      const res = await fetch(`${baseURL}/responses`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: MODEL, ...template.body, stream: template.streaming ?? false }),
      })
      expect(res.status).toBe(200)
      let response: Record<string, any>
      let events: Record<string, any>[] = []
      if (template.streaming) {
        const all = frames(await res.text())
        events = all.filter((frame) => frame.data !== '[DONE]').map((frame) => frame.data)
        expect(all.filter((frame) => frame.data !== '[DONE]').every((frame) => frame.event === frame.data.type)).toBe(true)
        response = events.find((event) => event.type === 'response.completed')!.response
      } else response = await res.json()
      expect(Object.keys(response)).toEqual(expect.arrayContaining(REQUIRED))
      expect(response.output.length).toBeGreaterThan(0)
      template.expect(response, events)
    })
  }
})
