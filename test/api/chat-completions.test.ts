// POST /v1/chat/completions read by the official `openai` client over real HTTP: the app served by @hono/node-server,
// Bedrock's emulator on its own port, every request the model received recorded.
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import OpenAI from 'openai'
import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BedrockClient, ConverseRequest } from '../../src/bedrock/types'
import { createTestApp, startHttpEmulator, type TestApp } from '../helpers'

let t: TestApp
let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
let server: ReturnType<typeof serve>
let baseURL: string
const requests: ConverseRequest[] = []
const streamEnds: string[] = []

beforeAll(async () => {
  emulator = await startHttpEmulator({ onStreamEnd: ({ outcome }) => streamEnds.push(outcome) })
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

async function apiKey(scopes?: string[]) {
  const user = await t.register()
  const res = await user.call('POST', '/v1/api-keys', { body: { name: 'openai', ...(scopes ? { scopes } : {}) } })
  expect(res.status).toBe(201)
  return { user, key: (await res.json()).key as string }
}

const clientFor = (key: string) => new OpenAI({ apiKey: key, baseURL, maxRetries: 0 })

async function client() {
  return clientFor((await apiKey()).key)
}

const lastRequest = () => requests[requests.length - 1]!

const WEATHER: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

describe('chat completions with the openai client', () => {
  it('answers a non-streamed completion in OpenAI’s shape', async () => {
    const openai = await client()
    const completion = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hello there model' }] })
    expect(completion).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      model: MODEL,
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'You said: "Hello there model". This is the Bedrock emulator.', refusal: null } }],
    })
    expect(completion.created).toBeGreaterThan(1_700_000_000)
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(0)
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0)
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens)
  })

  it('streams chunks with for-await, the role first, and a usage chunk before [DONE] with include_usage', async () => {
    const openai = await client()
    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Stream please [[emulator tokens=6]]' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant')
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1)
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === MODEL)).toBe(true)
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')
    expect(text.split(' ')).toHaveLength(6)
    const usageChunk = chunks.at(-1)!
    expect(usageChunk.choices).toEqual([])
    expect(usageChunk.usage!.prompt_tokens).toBeGreaterThan(0)
    expect(usageChunk.usage!.completion_tokens).toBe(6)
    expect(usageChunk.usage!.total_tokens).toBe(usageChunk.usage!.prompt_tokens + 6)
    const finishing = chunks.at(-2)!
    expect(finishing.choices[0]!.finish_reason).toBe('stop')
    expect(chunks.slice(0, -2).every((chunk) => chunk.choices[0]!.finish_reason === null && chunk.usage === null)).toBe(true)
  })

  it('sends the raw SSE framing: text/event-stream, no-cache, data: [DONE], and no usage without include_usage', async () => {
    const { key } = await apiKey()
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Raw [[emulator tokens=2]]' }], stream: true }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const body = await res.text()
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true)
    const chunks = body
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: {'))
      .map((frame) => JSON.parse(frame.slice(6)))
    expect(chunks.every((chunk) => !('usage' in chunk))).toBe(true)
    expect(chunks.at(-1).choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' })
  })

  it('sends system and developer messages as the system prompt and the whole history, oldest first', async () => {
    const openai = await client()
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are concise.' },
      { role: 'developer', content: [{ type: 'text', text: 'Answer in English.' }] },
      { role: 'user', content: 'First question' },
      { role: 'assistant', content: 'First answer' },
      { role: 'user', content: [{ type: 'text', text: 'Second question here' }] },
    ]
    const completion = await openai.chat.completions.create({ model: MODEL, messages })
    expect(completion.choices[0]!.message.content).toBe('You said: "Second question here". This is the Bedrock emulator.')
    const sent = lastRequest()
    expect(sent.system).toEqual([{ text: 'You are concise.\n\nAnswer in English.' }])
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ text: 'First question' }] },
      { role: 'assistant', content: [{ text: 'First answer' }] },
      { role: 'user', content: [{ text: 'Second question here' }] },
    ])
  })

  it('passes max_tokens (capped answers end with length), temperature, top_p and stop sequences', async () => {
    const openai = await client()
    const capped = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Long answer [[emulator tokens=50]]' }],
      max_tokens: 3,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END', 'STOP'],
    })
    expect(capped.choices[0]!.finish_reason).toBe('length')
    expect(capped.usage!.completion_tokens).toBe(3)
    expect(lastRequest().inferenceConfig).toEqual({ maxTokens: 3, temperature: 0.2, topP: 0.9, stopSequences: ['END', 'STOP'] })

    await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100, max_completion_tokens: 7, stop: 'END' })
    expect(lastRequest().inferenceConfig).toMatchObject({ maxTokens: 7, stopSequences: ['END'] })
  })

  it('maps an image data URL to an image block and refuses remote image URLs with a 400', async () => {
    const openai = await client()
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='
    await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }],
    })
    expect(lastRequest().messages[0]!.content).toEqual([{ text: 'What is this' }, { image: { format: 'png', source: { bytes: png } } }])

    const error = await openai.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] })
      .catch((error: unknown) => error)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error).toMatchObject({ status: 400, code: 'validation_failed', param: 'messages.0.content.0.image_url.url' })
    expect((error as Error).message).toMatch(/remote URLs are not fetched/)
  })
})

describe('larger bodies and reasoning', () => {
  it('takes a body up to the turn limit (MAX_TURN_BODY_BYTES), beyond the 1 MiB of other routes', async () => {
    const openai = await client()
    const bytes = new Uint8Array(1_500_000)
    let binary = ''
    for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode(...bytes.subarray(i, i + 8192))
    const jpeg = btoa(binary)
    const completion = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Big picture' }, { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${jpeg}` } }] }],
    })
    expect(completion.choices[0]!.message.content).toMatch(/^You said: "Big picture"/)
  })

  it('streams reasoning as delta.reasoning_content and returns it as message.reasoning_content', async () => {
    const openai = await client()
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Think first [[emulator reasoning tokens=2]]' }]
    const stream = await openai.chat.completions.create({ model: MODEL, messages, stream: true })
    let reasoning = ''
    for await (const chunk of stream) reasoning += (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? ''
    expect(reasoning).toBe('Thinking about "Think" before answering.')
    const completion = await openai.chat.completions.create({ model: MODEL, messages })
    expect((completion.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBe(reasoning)
  })
})

describe('tools', () => {
  it('returns the model’s tool call, then answers the tool result sent back', async () => {
    const openai = await client()
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris? [[emulator tool=get_weather input={"city":"Paris"}]]' }]
    const first = await openai.chat.completions.create({ model: MODEL, messages, tools: [WEATHER] })
    const choice = first.choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.tool_calls).toEqual([{ id: expect.stringMatching(/^tooluse_/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }])
    expect(lastRequest().toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'get_weather', description: 'The weather in a city', inputSchema: { json: WEATHER.function.parameters } } }],
    })

    const call = choice.message.tool_calls![0]!
    messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: 'Sunny and mild' })
    const second = await openai.chat.completions.create({ model: MODEL, messages, tools: [WEATHER] })
    expect(second.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'Tool results: Sunny and mild' } })
    const sent = lastRequest().messages
    expect(sent).toHaveLength(3)
    expect(sent[1]!.content.at(-1)).toEqual({ toolUse: { toolUseId: call.id, name: 'get_weather', input: { city: 'Paris' } } })
    expect(sent[2]).toEqual({ role: 'user', content: [{ toolResult: { toolUseId: call.id, content: [{ text: 'Sunny and mild' }], status: 'success' } }] })
  })

  it('streams a tool call: index, id and name first, the arguments after, then finish_reason tool_calls', async () => {
    const openai = await client()
    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather? [[emulator tool=get_weather input={"city":"Oslo"}]]' }],
      tools: [WEATHER],
      tool_choice: 'required',
      stream: true,
    })
    const deltas: NonNullable<ChatCompletionChunk['choices'][number]['delta']['tool_calls']>[number][] = []
    let finish: string | null = null
    for await (const chunk of stream) {
      deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []))
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(deltas[0]).toEqual({ index: 0, id: expect.stringMatching(/^tooluse_/), type: 'function', function: { name: 'get_weather', arguments: '' } })
    expect(deltas.slice(1)).toEqual([{ index: 0, function: { arguments: '{"city":"Oslo"}' } }])
    expect(finish).toBe('tool_calls')
    expect(lastRequest().toolConfig?.toolChoice).toEqual({ any: {} })
  })

  it('maps tool_choice to Bedrock’s: a named function, and none sends no tools', async () => {
    const openai = await client()
    await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'get_weather' } } })
    expect(lastRequest().toolConfig?.toolChoice).toEqual({ tool: { name: 'get_weather' } })
    await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], tools: [WEATHER], tool_choice: 'none' })
    expect(lastRequest().toolConfig).toBeUndefined()
  })

  it('none with tool calls in the history sends no tools: the calls and results reach Bedrock as text', async () => {
    const openai = await client()
    const answer = await openai.chat.completions.create({
      model: MODEL,
      tools: [WEATHER],
      tool_choice: 'none',
      messages: [
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Snow' },
      ],
    })
    expect(answer.choices[0]!.finish_reason).toBe('stop')
    const sent = lastRequest()
    expect(sent.toolConfig).toBeUndefined()
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Oslo?' }] },
      { role: 'assistant', content: [{ text: '[called the tool get_weather with {"city":"Oslo"}]' }] },
      { role: 'user', content: [{ text: '[result of the tool get_weather: Snow]' }] },
    ])
  })
})

describe('errors in the shapes the openai client parses', () => {
  it('401 with a bad key is an AuthenticationError', async () => {
    const error = await clientFor('sk_not_a_key').chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error)
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(error).toMatchObject({ status: 401, code: 'unauthorized', type: 'invalid_request_error' })
  })

  it('400 for an unknown model is a BadRequestError naming `model`', async () => {
    const openai = await client()
    const error = await openai.chat.completions.create({ model: 'no.such-model-v1:0', messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error).toMatchObject({ status: 400, code: 'validation_failed', param: 'model' })
    const streamed = await openai.chat.completions.create({ model: 'no.such-model-v1:0', messages: [{ role: 'user', content: 'Hi' }], stream: true }).catch((error: unknown) => error)
    expect(streamed).toBeInstanceOf(OpenAI.BadRequestError)
  })

  it('400 for a malformed body, and for n > 1', async () => {
    const openai = await client()
    const missing = await openai.chat.completions.create({ model: MODEL, messages: [] }).catch((error: unknown) => error)
    expect(missing).toBeInstanceOf(OpenAI.BadRequestError)
    expect(missing).toMatchObject({ code: 'validation_failed', param: 'messages' })
    const many = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], n: 2 }).catch((error: unknown) => error)
    expect(many).toMatchObject({ status: 400, param: 'n' })
  })

  it('429 from a throttled model is a RateLimitError, streamed or not', async () => {
    const openai = await client()
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Busy [[emulator error=ThrottlingException]]' }]
    const error = await openai.chat.completions.create({ model: MODEL, messages }).catch((error: unknown) => error)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', type: 'rate_limit_error' })
    const streamed = await openai.chat.completions.create({ model: MODEL, messages, stream: true }).catch((error: unknown) => error)
    expect(streamed).toBeInstanceOf(OpenAI.RateLimitError)
  })

  it('a failure after streaming began is thrown by the stream iteration, never a clean finish', async () => {
    const openai = await client()
    const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Fail [[emulator tokens=8 fail-after=3]]' }], stream: true })
    const chunks: ChatCompletionChunk[] = []
    const error = await (async () => {
      for await (const chunk of stream) chunks.push(chunk)
    })().catch((error: unknown) => error)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error).toMatchObject({ code: 'upstream_error', type: 'server_error' })
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('').split(' ')).toHaveLength(3)
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason)).toBe(false)
  })

  it('a key without the chat scope gets 403 in OpenAI’s shape (PermissionDeniedError)', async () => {
    const { key } = await apiKey(['read'])
    const error = await clientFor(key).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error)
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect(error).toMatchObject({ status: 403, code: 'forbidden' })
  })
})

describe('statelessness and access', () => {
  it('stores no conversation or message, and works with a user access token too', async () => {
    const { user, key } = await apiKey()
    await clientFor(key).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Remember nothing' }] })
    await clientFor(user.accessToken).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Nothing at all' }] })
    expect((await (await user.call('GET', '/v1/conversations')).json()).data).toEqual([])
    const rows = await t.client.execute('SELECT count(*) AS n FROM messages')
    expect(Number(rows.rows[0]!.n)).toBe(0)
  })

  it('a client that stops reading cancels the model call', async () => {
    const openai = await client()
    const before = streamEnds.length
    const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Slow [[emulator tokens=500 delay=20]]' }], stream: true })
    let seen = 0
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) seen++
      if (seen === 2) break
    }
    const deadline = Date.now() + 10_000
    while (streamEnds.length === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(streamEnds.slice(before)).toEqual(['cancelled'])
  })
})
