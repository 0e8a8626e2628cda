// POST /v1/chat/completions through the Worker entry inside workerd (D1, the in-process Bedrock emulator), read by the
// official `openai` client with its fetch pointed at the entry, and by hand for the raw framing.
import { env, exports } from 'cloudflare:workers'
import OpenAI from 'openai'
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import { describe, expect, it } from 'vitest'
import { call, ORIGIN, register, request } from './helpers'

const MODEL = 'amazon.nova-lite-v1:0'

async function apiKey(scopes?: string[]): Promise<string> {
  return (await keyAndUser(scopes)).key
}

async function keyAndUser(scopes?: string[]): Promise<{ key: string; userId: string }> {
  const user = await register('openai')
  const reply = await call('POST', '/v1/api-keys', { token: user.accessToken, json: { name: 'openai', ...(scopes ? { scopes } : {}) } })
  expect(reply.status, reply.text).toBe(201)
  return { key: reply.body.key, userId: user.userId }
}

const clientFor = (key: string) =>
  new OpenAI({ apiKey: key, baseURL: `${ORIGIN}/v1`, maxRetries: 0, fetch: (input, init) => exports.default.fetch(input as string, init) })

describe('chat completions under workerd', () => {
  it('streams with the openai client, usage last, and answers non-streamed with a tool round trip', async () => {
    const { key, userId } = await keyAndUser()
    const openai = clientFor(key)
    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello [[emulator tokens=4]]' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant')
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('').split(' ')).toHaveLength(4)
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop')
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 4 } })

    const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather? [[emulator tool=get_weather input={"city":"Rome"}]]' }]
    const first = await openai.chat.completions.create({ model: MODEL, messages, tools: [weather] })
    expect(first.choices[0]!.finish_reason).toBe('tool_calls')
    const call = first.choices[0]!.message.tool_calls![0]!
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } })
    messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'Warm' })
    const second = await openai.chat.completions.create({ model: MODEL, messages, tools: [weather] })
    expect(second.choices[0]!.message.content).toBe('Tool results: Warm')

    // Stateless: nothing of this user's is stored (other tests share this D1 database).
    const stored = await env.DB.prepare('SELECT (SELECT count(*) FROM conversations WHERE user_id = ?1) + (SELECT count(*) FROM messages WHERE user_id = ?1) AS n')
      .bind(userId)
      .all<{ n: number }>()
    expect(stored.results[0]!.n).toBe(0)
  })

  it('raises the openai client’s errors: 401, 400 with code, 403 for a read-only key, and a mid-stream failure', async () => {
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hi' }]
    await expect(clientFor('sk_nope').chat.completions.create({ model: MODEL, messages })).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
    const openai = clientFor(await apiKey())
    await expect(openai.chat.completions.create({ model: 'no.such-model', messages })).rejects.toMatchObject({ status: 400, code: 'validation_failed', param: 'model' })
    await expect(clientFor(await apiKey(['read'])).chat.completions.create({ model: MODEL, messages })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError)

    const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Fail [[emulator tokens=6 fail-after=2]]' }], stream: true })
    const failure = await (async () => {
      for await (const _ of stream);
    })().catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(OpenAI.APIError)
    expect(failure).toMatchObject({ code: 'upstream_error' })
  })

  it('frames the stream as OpenAI does: data: chunks, then data: [DONE]', async () => {
    const res = await request('POST', '/v1/chat/completions', {
      token: await apiKey(),
      json: { model: MODEL, messages: [{ role: 'user', content: 'Raw [[emulator tokens=2]]' }], stream: true },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const body = await res.text()
    const frames = body.split('\n\n').filter(Boolean)
    expect(frames.at(-1)).toBe('data: [DONE]')
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame.replace(/^data: /, '')))
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === chunks[0].id)).toBe(true)
    expect(chunks.at(-1).choices[0].finish_reason).toBe('stop')
  })
})
