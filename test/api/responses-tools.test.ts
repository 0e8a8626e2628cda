// Server-side tools in the Responses API, through the official `openai` client over real HTTP: MCP servers registered
// in the workspace (`{type: "mcp", server_label}`, real servers built with the official SDKs) and the built-in tools
// (`{type: "edgechat:<name>"}`), run by the turn's tool loop and shown as `mcp_call` and `edgechat:<name>` items, in
// the response, its stream, a resumed stream, a retrieve and the input items; mixed with function tools; bad requests.
import OpenAI from 'openai'
import type { FunctionTool, ResponseInputItem, Tool } from 'openai/resources/responses/responses'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BedrockClient, ConverseRequest } from '../../src/bedrock/types'
import { startHttpEmulator } from '../helpers'
import { createHttpTestApp, type HttpTestApp } from './http-app'
import { SECRET, startV1Server, startV2Server } from '../mcp-servers'

let t: HttpTestApp
let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
let v1: Awaited<ReturnType<typeof startV1Server>>
let v2: Awaited<ReturnType<typeof startV2Server>>
let baseURL: string
const requests: ConverseRequest[] = []

beforeAll(async () => {
  ;[emulator, v1, v2] = await Promise.all([startHttpEmulator(), startV1Server(), startV2Server()])
  const models = emulator.client({ baseDelayMs: 5 })
  const recording: BedrockClient = {
    converse: (request, options) => models.converse(request, options),
    converseStream: (request, options) => {
      requests.push(structuredClone(request))
      return models.converseStream(request, options)
    },
  }
  t = await createHttpTestApp({ MCP_ALLOW_PRIVATE_URLS: 'true', TOOL_TIMEOUT_SECONDS: '10' }, { models: recording })
  baseURL = `${t.base}/v1`
})
afterAll(async () => {
  await t.close()
  await Promise.all([emulator.close(), v1.close(), v2.close()])
})

const MODEL = 'amazon.nova-lite-v1:0'

/** A user whose personal workspace has the MCP servers `legacy` (SDK 1.x) and `modern` (SDK 2.x), and an API key. */
async function setup() {
  const user = await t.register()
  for (const [name, url] of [['legacy', v1.url], ['modern', v2.url]]) {
    const res = await user.call('POST', `/v1/workspaces/${user.workspace.id}/mcp-servers`, { body: { name, url, headers: { 'X-Api-Key': SECRET } } })
    expect(res.status, await res.clone().text()).toBe(201)
  }
  const key = (await (await user.call('POST', '/v1/api-keys', { body: { name: 'responses' } })).json()).key as string
  return { user, key, openai: new OpenAI({ apiKey: key, baseURL, maxRetries: 0 }) }
}

const LEGACY: Tool = { type: 'mcp', server_label: 'legacy', require_approval: 'never' }
const CALCULATOR = { type: 'edgechat:calculator' } as unknown as Tool
const WEATHER: FunctionTool = { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }

const lastRequest = () => requests[requests.length - 1]!
/** What the emulator says before a tool call it was told to make (the prompt without the directive). */
const said = (prompt: string) => `You said: "${prompt}". This is the Bedrock emulator.`
const message = (text: string) => expect.objectContaining({ type: 'message', status: 'completed', content: [expect.objectContaining({ type: 'output_text', text })] })
const toolNames = (request: ConverseRequest) => request.toolConfig?.tools.map((tool) => tool.toolSpec.name)

/** Raw SSE frames: each `event:` line and its parsed `data:` (the literal data of `[DONE]`). */
function frames(body: string) {
  return body
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? null
      const data = /^data: (.*)$/m.exec(frame)![1]!
      return { event, data: data.startsWith('{') ? JSON.parse(data) : data }
    })
}

async function post(key: string, body: Record<string, unknown>) {
  return fetch(`${baseURL}/responses`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

describe('MCP tools in responses', () => {
  it("runs a registered server's tools server-side: an mcp_call item with its output, then the answer", async () => {
    const { user, openai } = await setup()
    const response = await openai.responses.create({ model: MODEL, input: 'Add [[emulator tool=mcp__legacy__add input={"a":2,"b":3}]]', tools: [LEGACY] })
    expect(response.status).toBe('completed')
    expect(response.output).toEqual([
      message(said('Add')),
      { type: 'mcp_call', id: expect.stringMatching(/^mcp_\w+_1$/), server_label: 'legacy', name: 'add', arguments: '{"a":2,"b":3}', output: '5', error: null, status: 'completed' },
      message('Tool results: 5'),
    ])
    expect(response.output_text).toBe(`${said('Add')}Tool results: 5`)
    // Every tool the server lists was offered (with the key from its registration); the tools echo as sent.
    expect(toolNames(requests.at(-2)!)).toEqual(['mcp__legacy__add', 'mcp__legacy__whoami', 'mcp__legacy__broken'])
    expect(response.tools).toEqual([LEGACY])
    expect(await openai.responses.retrieve(response.id)).toEqual({ ...response, completed_at: expect.any(Number) })

    // The native API shows the same turn: the call and its result among the assistant's parts.
    const conversation = (await (await user.call('GET', '/v1/conversations')).json()).data[0]
    const messages = (await (await user.call('GET', `/v1/conversations/${conversation.id}/messages`)).json()).data
    expect(messages[1].parts).toEqual([
      { type: 'text', text: said('Add') },
      { type: 'tool_call', toolUseId: expect.any(String), name: 'mcp__legacy__add', input: { a: 2, b: 3 } },
      { type: 'tool_result', toolUseId: expect.any(String), content: '5', isError: false },
      { type: 'text', text: 'Tool results: 5' },
    ])

    // allowed_tools narrows what the model is offered; an error result is a failed call the model still reads.
    const failed = await openai.responses.create({
      model: MODEL,
      input: 'Break [[emulator tool=mcp__legacy__broken]]',
      tools: [{ ...LEGACY, allowed_tools: ['broken', 'whoami'] }],
    })
    expect(toolNames(requests.at(-2)!)).toEqual(['mcp__legacy__whoami', 'mcp__legacy__broken'])
    expect(failed.output[1]).toEqual({
      type: 'mcp_call',
      id: expect.any(String),
      server_label: 'legacy',
      name: 'broken',
      arguments: '{}',
      output: null,
      error: { type: 'mcp_tool_execution_error', content: [{ type: 'text', text: 'the database is down' }] },
      status: 'failed',
    })
    expect(failed.output_text).toBe(`${said('Break')}Tool results: the database is down`)
  })

  it("streams an MCP call with OpenAI's mcp_call events; a retrieve, a resumed stream and openai's stream helper agree", async () => {
    const { key, openai } = await setup()
    const res = await post(key, { model: MODEL, input: 'Multiply [[emulator tool=mcp__modern__multiply input={"a":6,"b":7}]]', tools: [{ type: 'mcp', server_label: 'modern' }], stream: true })
    expect(res.status).toBe(200)
    const all = frames(await res.text())
    expect(all.at(-1)).toEqual({ event: null, data: '[DONE]' })
    const events = all.slice(0, -1)
    expect(events.every((frame) => frame.event === frame.data.type)).toBe(true)
    expect(events.map((frame) => frame.data.sequence_number)).toEqual(events.map((_, i) => i))
    const text = ['response.output_item.added', 'response.content_part.added', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done']
    expect(events.map((frame) => frame.event).filter((type) => type !== 'response.output_text.delta')).toEqual([
      'response.created',
      'response.in_progress',
      ...text,
      'response.output_item.added',
      'response.mcp_call.in_progress',
      'response.mcp_call_arguments.delta',
      'response.mcp_call_arguments.done',
      'response.mcp_call.completed',
      'response.output_item.done',
      ...text,
      'response.completed',
    ])
    const at = events.findIndex((frame) => frame.event === 'response.mcp_call.in_progress') - 1
    const item = events[at + 5]!.data.item
    expect(item).toEqual({ type: 'mcp_call', id: expect.stringMatching(/^mcp_/), server_label: 'modern', name: 'multiply', arguments: '{"a":6,"b":7}', output: '42', error: null, status: 'completed' })
    expect(events[at]!.data).toMatchObject({ output_index: 1, item: { ...item, arguments: '', output: null, status: 'in_progress' } })
    for (const frame of events.slice(at + 1, at + 5)) expect(frame.data).toMatchObject({ item_id: item.id, output_index: 1 })
    expect(events[at + 2]!.data.delta).toBe('{"a":6,"b":7}')
    expect(events[at + 3]!.data.arguments).toBe('{"a":6,"b":7}')
    const completed = events.at(-1)!.data.response
    expect(completed.output).toEqual([message(said('Multiply')), item, message('Tool results: 42')])

    expect((await openai.responses.retrieve(completed.id)).output).toEqual(completed.output)
    const cursor = events[at + 1]!.data.sequence_number
    const resumed = frames(await (await fetch(`${baseURL}/responses/${completed.id}?stream=true&starting_after=${cursor}`, { headers: { authorization: `Bearer ${key}` } })).text())
    // The same frames (a replay stamps completed_at when it encodes the end).
    const stamped = (data: Record<string, any>) => (data.response ? { ...data, response: { ...data.response, completed_at: 0 } } : data)
    expect(resumed.slice(0, -1).map((frame) => stamped(frame.data))).toEqual(events.slice(at + 2).map((frame) => stamped(frame.data)))

    // openai's stream helper checks each event against the response it accumulates.
    const stream = openai.responses.stream({ model: MODEL, input: 'Again [[emulator tool=mcp__modern__multiply input={"a":2,"b":21}]]', tools: [{ type: 'mcp', server_label: 'modern' }] })
    const types: string[] = []
    stream.on('event', (event) => types.push(event.type))
    const final = await stream.finalResponse()
    expect(types).toContain('response.mcp_call.completed')
    expect(final.output[1]).toMatchObject({ type: 'mcp_call', name: 'multiply', output: '42', status: 'completed' })
    // (The helper adds `parsed: null` to each output_text.)
    expect(final.output).toMatchObject((await openai.responses.retrieve(final.id)).output)
  })

  it('cancels a background response while its MCP call runs: the call ends incomplete, in the stream and the response', async () => {
    const { key, openai } = await setup()
    const created = await openai.responses.create({ model: MODEL, input: 'Wait [[emulator tool=mcp__modern__slow]]', tools: [{ type: 'mcp', server_label: 'modern', allowed_tools: ['slow'] }], background: true })
    const res = await fetch(`${baseURL}/responses/${created.id}?stream=true`, { headers: { authorization: `Bearer ${key}` } })
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    let body = ''
    while (!body.includes('response.mcp_call.in_progress')) body += (await reader.read()).value ?? ''
    const cancelled = await openai.responses.cancel(created.id)
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) body += chunk.value
    expect(cancelled.status).toBe('cancelled')
    const call = { type: 'mcp_call', id: expect.any(String), server_label: 'modern', name: 'slow', arguments: '{}', output: null, error: null, status: 'incomplete' }
    expect(cancelled.output).toEqual([message(said('Wait')), call])
    const events = frames(body).slice(0, -1)
    expect(events.slice(-2).map((frame) => frame.event)).toEqual(['response.output_item.done', 'response.failed'])
    expect(events.at(-2)!.data.item).toEqual(call)
    expect(events.at(-1)!.data.response).toMatchObject({ status: 'cancelled', output: [expect.anything(), call] })
  })

  it('runs server-side tools in a stateless response (store: false) and takes its items back as input', async () => {
    const { openai } = await setup()
    const first = await openai.responses.create({ model: MODEL, input: 'Add [[emulator tool=mcp__legacy__add input={"a":1,"b":1}]]', tools: [LEGACY, CALCULATOR], store: false })
    expect(first.output.map((item) => item.type)).toEqual(['message', 'mcp_call', 'message'])
    expect(first.output[1]).toMatchObject({ output: '2', status: 'completed' })
    await expect(openai.responses.retrieve(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)

    // The previous output items, sent back as the history: the call and its result reach the model as tool blocks.
    const input = [{ role: 'user', content: 'Add one and one' }, ...first.output, { role: 'user', content: 'Thanks' }] as ResponseInputItem[]
    const second = await openai.responses.create({ model: MODEL, input, tools: [LEGACY], store: false })
    expect(second.status).toBe('completed')
    const callId = (first.output[1] as { id: string }).id
    expect(lastRequest().messages).toEqual([
      { role: 'user', content: [{ text: 'Add one and one' }] },
      { role: 'assistant', content: [{ text: said('Add') }, { toolUse: { toolUseId: callId, name: 'mcp__legacy__add', input: { a: 1, b: 1 } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: callId, content: [{ text: '2' }], status: 'success' } }] },
      { role: 'assistant', content: [{ text: 'Tool results: 2' }] },
      { role: 'user', content: [{ text: 'Thanks' }] },
    ])
  })
})

describe('built-in tools in responses', () => {
  it('runs edgechat:calculator server-side: its hosted-tool item, streamed, retrieved and continued', async () => {
    const { key, openai } = await setup()
    const response = await openai.responses.create({ model: MODEL, input: 'What is 6*7? [[emulator tool=calculator input={"expression":"6*7"}]]', tools: [CALCULATOR] })
    expect(response.output).toEqual([
      message(said('What is 6*7?')),
      { type: 'edgechat:calculator', id: expect.stringMatching(/^ht_\w+_1$/), arguments: '{"expression":"6*7"}', output: '42', error: null, status: 'completed' },
      message('Tool results: 42'),
    ])
    expect(toolNames(requests.at(-2)!)).toEqual(['calculator'])
    expect((await openai.responses.retrieve(response.id)).output).toEqual(response.output)

    // tool_choice required makes the first call use a tool; the call after the results is free to answer.
    const required = await openai.responses.create({ model: MODEL, input: 'Sum [[emulator tool=calculator input={"expression":"1+1"}]]', tools: [CALCULATOR], tool_choice: 'required' })
    expect(required.output_text).toMatch(/Tool results: 2$/)
    expect(requests.at(-2)!.toolConfig?.toolChoice).toEqual({ any: {} })
    expect(requests.at(-1)!.toolConfig).toMatchObject({ tools: [expect.anything()] })
    expect(requests.at(-1)!.toolConfig?.toolChoice).toBeUndefined()

    // Streamed: the item is added, then done with its output (no events of its own: the standard item events only).
    const res = await post(key, { model: MODEL, input: 'Divide [[emulator tool=calculator input={"expression":"1/0"}]]', tools: [CALCULATOR], stream: true })
    const events = frames(await res.text()).slice(0, -1)
    const added = events.findIndex((frame) => frame.event === 'response.output_item.added' && frame.data.item.type === 'edgechat:calculator')
    expect(events[added]!.data).toMatchObject({ output_index: 1, item: { type: 'edgechat:calculator', status: 'in_progress', arguments: '{"expression":"1/0"}', output: null, error: null } })
    expect(events[added + 1]!.event).toBe('response.output_item.done')
    const done = events[added + 1]!.data.item
    expect(done).toEqual({ ...events[added]!.data.item, status: 'failed', error: expect.stringContaining('zero') })
    const id = events.at(-1)!.data.response.id
    expect((await openai.responses.retrieve(id)).output[1]).toEqual(done)

    // A follow-up carries the chain's tool calls: the tools are declared again, and the model reads the history.
    const next = await openai.responses.create({ model: MODEL, previous_response_id: response.id, input: 'And 2^10? [[emulator tool=calculator input={"expression":"2^10"}]]', tools: [CALCULATOR] })
    expect(next.output_text).toBe(`${said('And 2^10?')}Tool results: 1024`)
    await expect(openai.responses.create({ model: MODEL, previous_response_id: next.id, input: 'Thanks' })).rejects.toMatchObject({ status: 400, param: 'tools' })
  })

  it('mixes function and server-side tools: the server runs its calls, a function call still ends the response', async () => {
    const { openai } = await setup()
    const first = await openai.responses.create({
      model: MODEL,
      input: 'Both [[emulator tool=get_weather input={"city":"Rome"} tool=mcp__legacy__add input={"a":20,"b":22}]]',
      tools: [WEATHER, LEGACY, CALCULATOR],
    })
    expect(first.status).toBe('completed')
    expect(toolNames(requests.at(-1)!)).toEqual(['calculator', 'mcp__legacy__add', 'mcp__legacy__whoami', 'mcp__legacy__broken', 'get_weather'])
    expect(first.output).toEqual([
      message(said('Both')),
      { type: 'function_call', id: expect.stringMatching(/^fc_/), call_id: expect.any(String), name: 'get_weather', arguments: '{"city":"Rome"}', status: 'completed' },
      expect.objectContaining({ type: 'mcp_call', name: 'add', output: '42', status: 'completed' }),
    ])
    const call = first.output[1]!
    if (call.type !== 'function_call') throw new Error('no function call')
    const second = await openai.responses.create({
      model: MODEL,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'Sunny' }],
      tools: [WEATHER, LEGACY, CALCULATOR],
    })
    expect(second.output_text).toBe('Tool results: 42 | Sunny')
  })

  it('lists server-side calls of the input as the same items (input_items)', async () => {
    const { openai } = await setup()
    const response = await openai.responses.create({
      model: MODEL,
      input: [
        { role: 'user', content: 'What is 2+2?' },
        { type: 'edgechat:calculator', id: 'ht_given_1', arguments: '{"expression":"2+2"}', output: '4', error: null, status: 'completed' } as unknown as ResponseInputItem,
        { type: 'mcp_call', id: 'mcp_given_2', server_label: 'legacy', name: 'add', arguments: '{"a":2,"b":2}', output: '4', error: null, status: 'completed' } as ResponseInputItem,
        { role: 'user', content: 'Both agree' },
      ],
      tools: [LEGACY, CALCULATOR],
    })
    expect(response.status).toBe('completed')
    const items = (await openai.responses.inputItems.list(response.id, { order: 'asc' })).data
    expect(items).toEqual([
      expect.objectContaining({ type: 'message', role: 'user' }),
      { id: expect.any(String), type: 'edgechat:calculator', arguments: '{"expression":"2+2"}', output: '4', error: null, status: 'completed' },
      { id: expect.any(String), type: 'mcp_call', server_label: 'legacy', name: 'add', arguments: '{"a":2,"b":2}', output: '4', error: null, status: 'completed' },
      expect.objectContaining({ type: 'message', role: 'user' }),
    ])
  })
})

describe('server-side tools: bad requests', () => {
  it("answers 400 in OpenAI's shape naming the parameter", async () => {
    const { user, key, openai } = await setup()
    const refused = async (tools: unknown[], param: string, message?: RegExp) => {
      const res = await post(key, { model: MODEL, input: 'Hi', tools })
      expect(res.status, param).toBe(400)
      const { error } = (await res.json()) as { error: { message: string } }
      expect(error).toMatchObject({ type: 'invalid_request_error', code: 'validation_failed', param })
      if (message) expect(error.message).toMatch(message)
    }
    await refused([{ type: 'mcp', server_label: 'docs', server_url: 'https://mcp.example.com/mcp' }], 'tools.0.server_url', /register/)
    await refused([{ type: 'mcp', server_label: 'legacy', headers: { Authorization: 'Bearer x' } }], 'tools.0.headers')
    await refused([WEATHER, { type: 'mcp', server_label: 'nowhere' }], 'tools.1.server_label', /no MCP server named nowhere/)
    await refused([{ type: 'mcp', server_label: 'legacy', require_approval: 'always' }], 'tools.0.require_approval', /never/)
    await refused([{ type: 'mcp', server_label: 'legacy', require_approval: { never: { tool_names: ['add'] } } }], 'tools.0.require_approval')
    await refused([{ type: 'mcp', server_label: 'legacy', allowed_tools: ['add', 'drop_tables'] }], 'tools.0.allowed_tools.1', /no tool drop_tables/)
    await refused([{ type: 'mcp' }], 'tools.0.server_label')
    await refused([{ type: 'web_search' }], 'tools.0.type', /web_search tools are not supported/)
    await refused([{ type: 'calculator' }], 'tools.0.type', /edgechat:calculator/)
    await refused([{ type: 'edgechat:teleport' }], 'tools.0.type', /edgechat:teleport/)
    await refused([CALCULATOR, { ...WEATHER, name: 'calculator' }], 'tools.1.name', /server-side tool/)
    await refused([{ type: 'function', name: 'not a name' }], 'tools.0.name')

    // A disabled server is refused; one that cannot list its tools is a 502 naming it.
    const down = await user.call('POST', `/v1/workspaces/${user.workspace.id}/mcp-servers`, { body: { name: 'down', url: 'http://127.0.0.1:9/mcp' } })
    expect(down.status).toBe(201)
    const unreachable = await post(key, { model: MODEL, input: 'Hi', tools: [{ type: 'mcp', server_label: 'down' }] })
    expect(unreachable.status).toBe(502)
    expect(((await unreachable.json()) as { error: unknown }).error).toMatchObject({ type: 'server_error', code: 'upstream_error', param: 'tools.0.server_label' })
    const legacy = (await (await user.call('GET', `/v1/workspaces/${user.workspace.id}/mcp-servers`)).json()).data.find((row: { name: string }) => row.name === 'legacy')
    expect((await user.call('PATCH', `/v1/workspaces/${user.workspace.id}/mcp-servers/${legacy.id}`, { body: { enabled: false } })).status).toBe(200)
    await refused([LEGACY], 'tools.0.server_label', /disabled/)

    // Another workspace's servers are not this one's.
    const stranger = await setup()
    await expect(stranger.openai.responses.create({ model: MODEL, input: 'Hi', tools: [{ type: 'mcp', server_label: 'down' }] })).rejects.toMatchObject({ status: 400, param: 'tools.0.server_label' })
    expect(await openai.responses.create({ model: MODEL, input: 'Hi', tools: [CALCULATOR] })).toMatchObject({ status: 'completed' })
  })
})
