// The Responses API through the Worker entry inside workerd (D1, the in-process Bedrock emulator), read by the official
// `openai` client: with the Durable Object hub (the env a deploy has: GENERATIONS bound, no STREAM_STATE), where a
// background response runs in its conversation's object and other requests follow, resume and cancel it, and where
// server-side tools (a real MCP server started by mcp-global-setup.ts, a built-in) run in the object's tool loop; and
// with the isolate's memory hub the other workers tests use.
import { createExecutionContext } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import OpenAI from 'openai'
import type { ResponseStreamEvent } from 'openai/resources/responses/responses'
import { describe, expect, inject, it } from 'vitest'
import worker, { type WorkerEnv } from '../../src/entries/worker'
import { call, ORIGIN, register } from './helpers'

const MODEL = 'amazon.nova-lite-v1:0'

const doEnv: WorkerEnv = { ...env }
delete doEnv.STREAM_STATE

async function apiKey(mcpServers: Record<string, string> = {}): Promise<string> {
  const user = await register('responses')
  for (const [name, url] of Object.entries(mcpServers)) {
    const server = await call('POST', `/v1/workspaces/${user.workspaceId}/mcp-servers`, { token: user.accessToken, json: { name, url } })
    expect(server.status, server.text).toBe(201)
  }
  const reply = await call('POST', '/v1/api-keys', { token: user.accessToken, json: { name: 'responses' } })
  expect(reply.status, reply.text).toBe(201)
  return reply.body.key
}

/** A client whose requests go to the entry with the Durable Object env (every request its own execution context). */
const durableClient = (key: string) =>
  new OpenAI({
    apiKey: key,
    baseURL: `${ORIGIN}/v1`,
    maxRetries: 0,
    fetch: (input, init) => Promise.resolve(worker.fetch(new Request(input as string, init), doEnv, createExecutionContext())),
  })

const memoryClient = (key: string) =>
  new OpenAI({ apiKey: key, baseURL: `${ORIGIN}/v1`, maxRetries: 0, fetch: (input, init) => exports.default.fetch(input as string, init) })

describe('responses under workerd with the Durable Object hub', () => {
  it('runs a background response in the object: retrieve streams it, a dropped stream resumes from starting_after', async () => {
    const openai = durableClient(await apiKey())
    const created = await openai.responses.create({ model: MODEL, input: 'Slowly [[emulator tokens=10 delay=30]]', background: true })
    expect(created).toMatchObject({ status: 'queued', background: true })

    const before: ResponseStreamEvent[] = []
    for await (const event of await openai.responses.retrieve(created.id, { stream: true })) {
      before.push(event)
      if (before.filter((seen) => seen.type === 'response.output_text.delta').length === 2) break
    }
    const cursor = before.at(-1)!.sequence_number
    const after: ResponseStreamEvent[] = []
    for await (const event of await openai.responses.retrieve(created.id, { stream: true, starting_after: cursor })) after.push(event)
    expect(after[0]!.sequence_number).toBe(cursor + 1)
    expect(after.at(-1)!.type).toBe('response.completed')
    const text = [...before, ...after].flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : [])).join('')
    const done = await openai.responses.retrieve(created.id)
    expect(done.status).toBe('completed')
    expect(done.output_text).toBe(text)
    expect(text.split(' ')).toHaveLength(10)
  })

  it('chains responses and round-trips a function tool; cancels a running one', async () => {
    const openai = durableClient(await apiKey())
    const tool = { type: 'function' as const, name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }
    const first = await openai.responses.create({ model: MODEL, input: 'Weather? [[emulator tool=get_weather input={"city":"Rome"}]]', tools: [tool] })
    const call = first.output.find((item) => item.type === 'function_call')
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Rome"}' })
    if (call?.type !== 'function_call') return
    const second = await openai.responses.create({
      model: MODEL,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'Warm' }],
      tools: [tool],
    })
    expect(second.output_text).toBe('Tool results: Warm')

    await expect(openai.responses.create({ model: MODEL, previous_response_id: second.id, input: 'No tools' })).rejects.toMatchObject({ status: 400, param: 'tools' })
    const running = await openai.responses.create({ model: MODEL, previous_response_id: second.id, input: 'Long [[emulator tokens=400 delay=20]]', tools: [tool], background: true })
    for await (const event of await openai.responses.retrieve(running.id, { stream: true })) if (event.type === 'response.output_text.delta') break
    const cancelled = await openai.responses.cancel(running.id)
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.output_text.length).toBeGreaterThan(0)
    const row = await env.DB.prepare('SELECT status FROM generations WHERE id = ?').bind(`gen_${running.id.slice(5)}`).first<{ status: string }>()
    expect(row?.status).toBe('cancelled')
  })
})

describe('server-side tools in responses under workerd with the Durable Object hub', () => {
  it("runs an MCP server's tool and a built-in in the object's tool loop: their items streamed, retrieved, resumed", async () => {
    const openai = durableClient(await apiKey({ modern: inject('mcpServers').modern }))
    const tools = [{ type: 'mcp' as const, server_label: 'modern', require_approval: 'never' as const }, { type: 'edgechat:calculator' } as never]
    const events: ResponseStreamEvent[] = []
    const stream = await openai.responses.create({ model: MODEL, input: 'Multiply [[emulator tool=mcp__modern__multiply input={"a":6,"b":7}]]', tools, stream: true })
    for await (const event of stream) events.push(event)
    const types = events.map((event) => event.type)
    expect(types).toEqual(expect.arrayContaining(['response.mcp_call.in_progress', 'response.mcp_call_arguments.done', 'response.mcp_call.completed']))
    const completed = events.at(-1)!
    if (completed.type !== 'response.completed') throw new Error(`ended with ${completed.type}`)
    const call = { type: 'mcp_call', id: expect.any(String), server_label: 'modern', name: 'multiply', arguments: '{"a":6,"b":7}', output: '42', error: null, status: 'completed' }
    expect(completed.response.output.map((item) => item.type)).toEqual(['message', 'mcp_call', 'message'])
    expect(completed.response.output[1]).toEqual(call)
    expect(completed.response.output_text).toMatch(/Tool results: 42$/)
    expect((await openai.responses.retrieve(completed.response.id)).output).toEqual(completed.response.output)

    // In the background, followed from another request: the built-in's item, and a resume after its call.
    const background = await openai.responses.create({ model: MODEL, input: 'Sum [[emulator tool=calculator input={"expression":"2^10"}]]', tools, background: true })
    const followed: ResponseStreamEvent[] = []
    for await (const event of await openai.responses.retrieve(background.id, { stream: true })) followed.push(event)
    const done = followed.find((event) => event.type === 'response.output_item.done' && (event.item.type as string) === 'edgechat:calculator') as { item: unknown; sequence_number: number }
    expect(done.item).toEqual({ type: 'edgechat:calculator', id: expect.any(String), arguments: '{"expression":"2^10"}', output: '1024', error: null, status: 'completed' })
    const resumed: ResponseStreamEvent[] = []
    for await (const event of await openai.responses.retrieve(background.id, { stream: true, starting_after: done.sequence_number })) resumed.push(event)
    expect(resumed.map((event) => [event.type, event.sequence_number])).toEqual(followed.filter((event) => event.sequence_number > done.sequence_number).map((event) => [event.type, event.sequence_number]))
    expect((await openai.responses.retrieve(background.id)).output[1]).toEqual(done.item)
  })
})

describe('responses under workerd with the memory hub', () => {
  it('streams a stored response and answers structured output; store: false keeps nothing', async () => {
    const openai = memoryClient(await apiKey())
    const types: string[] = []
    let id = ''
    for await (const event of await openai.responses.create({ model: MODEL, input: 'Hi [[emulator tokens=3]]', stream: true })) {
      types.push(event.type)
      if (event.type === 'response.completed') id = event.response.id
    }
    expect(types[0]).toBe('response.created')
    expect(types.at(-1)).toBe('response.completed')
    expect((await openai.responses.retrieve(id)).output_text.split(' ')).toHaveLength(3)

    const structured = await openai.responses.create({
      model: 'anthropic.claude-haiku-4-5-20251001-v1:0',
      input: 'JSON',
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } } },
    })
    expect(JSON.parse(structured.output_text)).toEqual({ ok: true })

    const stateless = await openai.responses.create({ model: MODEL, input: 'Not stored', store: false })
    expect(stateless.status).toBe('completed')
    await expect(openai.responses.retrieve(stateless.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })
})
