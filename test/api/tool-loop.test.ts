// The tool loop end to end: turns over the app, Bedrock over real HTTP to the emulator, built-in tools and tools this
// file defines (a tool that waits for the test, two that only finish together, a large output).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from '@hono/zod-openapi'
import type { BedrockClient, ConverseRequest } from '../../src/bedrock/types'
import { parseConfig } from '../../src/config'
import { GenerationInterrupted } from '../../src/stream/hub'
import { createMemoryHub } from '../../src/stream/memory-hub'
import { builtinTools } from '../../src/tools/registry'
import { defineTool } from '../../src/tools/tool'
import { createTestApp, expectProblem, startHttpEmulator, type TestApp } from '../helpers'
import { parseSse, readRest, readSseUntil, type ParsedEvent } from '../sse'

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((done) => (resolve = done))
  return { promise, resolve }
}

let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
let t: TestApp
const requests: ConverseRequest[] = []

/** A gate the test opens: the `gate` tool waits on it, and records whether its signal was aborted. */
let gate = deferred()
let gateEntered = deferred()
let gateAborted = false
const gateTool = defineTool({
  name: 'gate',
  description: 'Waits until the test opens the gate',
  input: z.object({}),
  async run(_input, { signal }) {
    gateEntered.resolve()
    signal.addEventListener('abort', () => (gateAborted = true), { once: true })
    await gate.promise
    return 'opened'
  },
})

/** Two tools that each wait for the other to have started: they finish only when run at the same time. */
const arrived = { left: deferred(), right: deferred() }
const meeting = (side: 'left' | 'right', other: 'left' | 'right') =>
  defineTool({
    name: `meet_${side}`,
    description: 'Meets the other side',
    input: z.object({}),
    async run() {
      arrived[side].resolve()
      await arrived[other].promise
      return `${side} met ${other}`
    },
  })

const bigOutput = defineTool({ name: 'big_output', description: 'A lot of text', input: z.object({}), run: () => 'é'.repeat(5_000) })

const tools = [...builtinTools(() => new Date('2026-03-01T12:00:00Z')), gateTool, meeting('left', 'right'), meeting('right', 'left'), bigOutput]

function recording(models: BedrockClient): BedrockClient {
  return {
    converse: (request, options) => models.converse(request, options),
    converseStream: (request, options) => {
      requests.push(structuredClone(request))
      return models.converseStream(request, options)
    },
  }
}

beforeAll(async () => {
  emulator = await startHttpEmulator()
  t = await createTestApp({ TOOL_OUTPUT_MAX_CHARS: '1000' }, { models: recording(emulator.client({ baseDelayMs: 5 })), tools })
})
afterAll(async () => {
  t.close()
  await emulator.close()
})

type User = Awaited<ReturnType<TestApp['register']>>

async function conversation(user: User, app: TestApp = t) {
  const res = await app.request('POST', '/v1/conversations', { token: user.accessToken, body: {} })
  expect(res.status).toBe(201)
  return (await res.json()) as { id: string }
}

const turn = (user: User, conversationId: string, body: Record<string, unknown>, app: TestApp = t) =>
  app.request('POST', `/v1/conversations/${conversationId}/messages`, { token: user.accessToken, body })

async function messages(user: User, conversationId: string, app: TestApp = t) {
  return (await (await app.request('GET', `/v1/conversations/${conversationId}/messages`, { token: user.accessToken })).json()).data as {
    role: string
    status: string
    stopReason: string | null
    parts: { type: string; text?: string; toolUseId?: string; name?: string; input?: unknown; content?: unknown; isError?: boolean }[]
  }[]
}

const kinds = (events: ParsedEvent[]) => events.map((event) => event.event).filter((kind, i, all) => kind !== 'text.delta' || all[i - 1] !== 'text.delta')
const textOf = (events: ParsedEvent[]) => events.filter((e) => e.event === 'text.delta').map((e) => String(e.data.delta)).join('')
const requestsSince = (from: number) => requests.slice(from)

describe('tools and tasks', () => {
  it('lists the built-in tools with their JSON Schema, and the tasks', async () => {
    const user = await t.register()
    const res = await user.call('GET', '/v1/tools')
    expect(res.status).toBe(200)
    const { data } = await res.json()
    const calculator = data.find((tool: { name: string }) => tool.name === 'calculator')
    expect(calculator).toMatchObject({ source: 'builtin', inputSchema: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] } })
    expect(data.find((tool: { name: string }) => tool.name === 'current_time')).toMatchObject({ source: 'builtin', inputSchema: { properties: { timeZone: { type: 'string' } } } })
    expect(await (await user.call('GET', '/v1/tasks')).json()).toEqual({ data: [{ name: 'chat', description: expect.stringContaining('tools') }] })
    await expectProblem(await user.call('GET', '/v1/tools?workspaceId=ws_someone_else'), 404, 'not_found')
  })

  it('refuses an unknown tool or task, and a client-side tool named like a server-side one, naming the field', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const unknown = await expectProblem(await turn(user, conv.id, { content: 'hi', tools: ['calculator', 'nope'] }), 400, 'validation_failed')
    expect(unknown.errors).toEqual([{ path: 'tools.1', message: expect.stringContaining('nope') }])
    const task = await expectProblem(await turn(user, conv.id, { content: 'hi', task: 'summarize' }), 400, 'validation_failed')
    expect(task.errors).toEqual([{ path: 'task', message: expect.stringContaining('summarize') }])
    const clash = await expectProblem(await turn(user, conv.id, { content: 'hi', tools: [{ name: 'calculator', inputSchema: { type: 'object' } }] }), 400, 'validation_failed')
    expect(clash.errors).toEqual([{ path: 'tools.0.name', message: expect.any(String) }])
    const badName = await expectProblem(await turn(user, conv.id, { content: 'hi', tools: [{ name: 'has space', inputSchema: {} }] }), 400, 'validation_failed')
    expect((badName.errors as { path: string }[])[0]!.path).toBe('tools.0.name')
    expect(await messages(user, conv.id)).toEqual([])
  })
})

describe('the tool loop', () => {
  it('runs calculator on 6*7 and answers with 42, streaming tool.call then tool.result, storing the exchange in order', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const from = requests.length
    const res = await turn(user, conv.id, { content: 'What is 6 times 7? [[emulator tool=calculator input={"expression":"6*7"}]]', tools: ['calculator'] })
    const { events } = parseSse(await res.text())
    // The emulator says a few words before its call, as models do.
    expect(kinds(events)).toEqual(['generation.started', 'text.delta', 'tool.call', 'usage', 'tool.result', 'text.delta', 'usage', 'generation.completed'])
    const call = events.find((e) => e.event === 'tool.call')!.data
    expect(call).toMatchObject({ name: 'calculator', input: { expression: '6*7' } })
    expect(events.find((e) => e.event === 'tool.result')!.data).toMatchObject({ toolUseId: call.toolUseId, output: '42', isError: false })
    expect(textOf(events)).toMatch(/^You said: .*Tool results: 42$/)
    const usages = events.filter((e) => e.event === 'usage').map((e) => e.data)
    expect(events.at(-1)!.data).toMatchObject({ stopReason: 'end_turn', usage: { inputTokens: usages[1]!.inputTokens, outputTokens: usages[1]!.outputTokens } })
    expect(Number(usages[1]!.outputTokens)).toBeGreaterThan(Number(usages[0]!.outputTokens))

    const [, assistant] = await messages(user, conv.id)
    expect(assistant!.status).toBe('complete')
    expect(assistant!.parts.map((part) => part.type)).toEqual(['text', 'tool_call', 'tool_result', 'text'])
    expect(assistant!.parts[2]).toEqual({ type: 'tool_result', toolUseId: call.toolUseId, content: '42', isError: false })

    const [first, second] = requestsSince(from)
    expect(first!.toolConfig?.tools.map((tool) => tool.toolSpec.name)).toEqual(['calculator'])
    expect(second!.messages.at(-1)).toEqual({ role: 'user', content: [{ toolResult: { toolUseId: call.toolUseId, content: [{ text: '42' }], status: 'success' } }] })
    expect(second!.toolConfig).toBeDefined()

    // The next turn sends the whole exchange back as history.
    const again = await turn(user, conv.id, { content: 'thanks', stream: false, tools: ['calculator'] })
    expect(again.status).toBe(201)
    expect(requests.at(-1)!.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user'])
  })

  it("gives the model a failing tool's error as an error result, and the turn still completes", async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Divide [[emulator tool=calculator input={"expression":"1/0"}]]', tools: ['calculator'], stream: false })
    expect(res.status).toBe(201)
    const { assistantMessage } = await res.json()
    expect(assistantMessage.status).toBe('complete')
    expect(assistantMessage.parts[2]).toMatchObject({ type: 'tool_result', isError: true, content: 'Division by zero' })
    expect(assistantMessage.parts[3].text).toBe('Tool results: Division by zero')
    expect(requests.at(-1)!.messages.at(-1)!.content[0]).toMatchObject({ toolResult: { status: 'error' } })
  })

  it('runs current_time with a time zone, and answers a bad one with an error result', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, {
      content: 'Time? [[emulator tool=current_time input={"timeZone":"Asia/Tokyo"} tool=current_time input={"timeZone":"Mars/Olympus"}]]',
      tools: ['current_time'],
      stream: false,
    })
    const { assistantMessage } = await res.json()
    const [tokyo, mars] = assistantMessage.parts.filter((part: { type: string }) => part.type === 'tool_result')
    expect(tokyo).toMatchObject({ isError: false, content: { timeZone: 'Asia/Tokyo', iso: '2026-03-01T21:00:00+09:00', weekday: 'Sunday', utc: '2026-03-01T12:00:00.000Z' } })
    expect(mars).toMatchObject({ isError: true, content: expect.stringContaining('Unknown time zone') })
  })

  it('runs the calls of one step in parallel', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Meet [[emulator tool=meet_left tool=meet_right]]', tools: ['meet_left', 'meet_right'], stream: false })
    const { assistantMessage } = await res.json()
    expect(assistantMessage.parts.map((part: { type: string }) => part.type)).toEqual(['text', 'tool_call', 'tool_call', 'tool_result', 'tool_result', 'text'])
    expect(assistantMessage.parts.slice(3, 5)).toMatchObject([
      { content: 'left met right', isError: false },
      { content: 'right met left', isError: false },
    ])
  })

  it('stops after MAX_TOOL_STEPS model calls, the last sent without tools, so the model answers', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const from = requests.length
    const res = await turn(user, conv.id, { content: 'Loop [[emulator tool=calculator input={"expression":"2+2"} repeat]]', tools: ['calculator'] })
    const { events } = parseSse(await res.text())
    const sent = requestsSince(from)
    expect(sent).toHaveLength(8)
    expect(sent.slice(0, 7).every((request) => request.toolConfig !== undefined)).toBe(true)
    expect(sent[7]!.toolConfig).toBeUndefined()
    // Without tools, Bedrock refuses tool blocks: the earlier calls and results travel as text, results in user turns.
    expect(JSON.stringify(sent[7]!.messages)).not.toContain('toolUse')
    expect(sent[7]!.messages.at(-1)!.content[0]).toEqual({ text: expect.stringContaining('[result of the tool calculator: 4]') })
    expect(events.filter((e) => e.event === 'tool.call')).toHaveLength(7)
    expect(new Set(events.filter((e) => e.event === 'tool.call').map((e) => e.data.toolUseId)).size).toBe(7)
    expect(events.filter((e) => e.event === 'tool.result')).toHaveLength(7)
    expect(events.at(-1)).toMatchObject({ event: 'generation.completed', data: { stopReason: 'end_turn' } })
    const [, assistant] = await messages(user, conv.id)
    expect(assistant!.parts.filter((part) => part.type === 'tool_call')).toHaveLength(7)
    expect(assistant!.parts.at(-1)!.type).toBe('text')
  })

  it('takes MAX_TOOL_STEPS from configuration (at least 2: a model call with tools, then one to answer)', async () => {
    expect(() => parseConfig({ MAX_TOOL_STEPS: '1', JWT_SECRET: 'x'.repeat(32) })).toThrow(/MAX_TOOL_STEPS/)
    const two = await createTestApp({ MAX_TOOL_STEPS: '2' }, { models: recording(emulator.client({ baseDelayMs: 5 })), tools })
    const user = await two.register()
    const conv = await conversation(user, two)
    const from = requests.length
    const res = await turn(user, conv.id, { content: 'Loop [[emulator tool=calculator input={"expression":"3*3"} repeat]]', tools: ['calculator'], stream: false }, two)
    const { assistantMessage } = await res.json()
    expect(requestsSince(from).map((request) => request.toolConfig !== undefined)).toEqual([true, false])
    expect(assistantMessage.parts.map((part: { type: string }) => part.type)).toEqual(['text', 'tool_call', 'tool_result', 'text'])
    two.close()
  })

  it('caps a large output before it goes back to the model, and says so', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Big [[emulator tool=big_output]]', tools: ['big_output'], stream: false })
    const { assistantMessage } = await res.json()
    const result = assistantMessage.parts[2]
    expect(result.content.startsWith('é'.repeat(1000))).toBe(true)
    expect(result.content).toContain('[output truncated: the first 1000 of 5000 characters]')
    expect(requests.at(-1)!.messages.at(-1)!.content[0]).toMatchObject({ toolResult: { content: [{ text: result.content }] } })
  })

  it('cancel aborts the running tool and ends the turn cancelled, keeping the call', async () => {
    gate = deferred()
    gateEntered = deferred()
    gateAborted = false
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Wait [[emulator tool=gate]]', tools: ['gate'] })
    const { events, reader } = await readSseUntil(res as unknown as Response, (e) => e.event === 'tool.call')
    await gateEntered.promise
    const generationId = String(events[0]!.data.generationId)
    expect((await user.call('POST', `/v1/generations/${generationId}/cancel`)).status).toBe(202)
    const rest = await readRest(reader)
    expect(rest.at(-1)!.event).toBe('generation.cancelled')
    expect(rest.some((e) => e.event === 'tool.result')).toBe(false)
    expect(gateAborted).toBe(true)
    const [, assistant] = await messages(user, conv.id)
    expect(assistant!.status).toBe('cancelled')
    expect(assistant!.parts.map((part) => part.type)).toEqual(['text', 'tool_call'])
    // The conversation goes on: the unanswered call is left out of the next request.
    const next = await turn(user, conv.id, { content: 'never mind', stream: false })
    expect(next.status).toBe(201)
    expect(JSON.stringify(requests.at(-1)!.messages)).not.toContain('toolUse')
  })

  it('resumes a follower in the middle of the loop: the replay and the live rest, tool results included', async () => {
    gate = deferred()
    gateEntered = deferred()
    const user = await t.register()
    const conv = await conversation(user)
    const res = await turn(user, conv.id, { content: 'Wait then answer [[emulator tool=gate]]', tools: ['gate'] })
    const { events, reader } = await readSseUntil(res as unknown as Response, (e) => e.event === 'tool.call')
    await gateEntered.promise
    const generationId = String(events[0]!.data.generationId)
    const call = events.find((e) => e.event === 'tool.call')!
    const follower = await user.call('GET', `/v1/generations/${generationId}/events`, { headers: { 'last-event-id': String(call.id - 1) } })
    const followed = readSseUntil(follower as unknown as Response, (e) => e.event === 'generation.completed')
    gate.resolve()
    const { events: resumed } = await followed
    expect(resumed[0]).toMatchObject({ id: call.id, event: 'tool.call' })
    expect(kinds(resumed)).toEqual(['tool.call', 'usage', 'tool.result', 'text.delta', 'usage', 'generation.completed'])
    expect(resumed.find((e) => e.event === 'tool.result')!.data).toMatchObject({ output: 'opened', isError: false })
    const rest = await readRest(reader)
    expect(rest.map((e) => e.id)).toEqual(resumed.slice(resumed.findIndex((e) => e.id > events.at(-1)!.id)).map((e) => e.id))
  })

  it('a crash in the middle of the loop leaves the message incomplete with what was done, never streaming', async () => {
    gate = deferred()
    gateEntered = deferred()
    const crashing = await createTestApp(
      {},
      {
        models: recording(emulator.client({ baseDelayMs: 5 })),
        tools,
        hub: (run) =>
          createMemoryHub({
            run: (task, context) => {
              const controller = new AbortController()
              void gateEntered.promise.then(() => controller.abort(new GenerationInterrupted('another process took over')))
              return run(task, { ...context, signal: controller.signal })
            },
          }),
      },
    )
    const user = await crashing.register()
    const conv = await conversation(user, crashing)
    const { events } = parseSse(await (await turn(user, conv.id, { content: 'Work [[emulator tool=calculator input={"expression":"1+2"} tool=gate]]', tools: ['calculator', 'gate'] }, crashing)).text())
    expect(events.at(-1)).toMatchObject({ event: 'generation.failed', data: { code: 'interrupted' } })
    const [, assistant] = await messages(user, conv.id, crashing)
    expect(assistant!.status).toBe('incomplete')
    expect(assistant!.parts.map((part) => part.type)).toEqual(['text', 'tool_call', 'tool_call'])
    crashing.close()
  })

  it('times out a tool that takes too long: an error result, and the turn goes on', async () => {
    gate = deferred()
    gateEntered = deferred()
    const quick = await createTestApp({ TOOL_TIMEOUT_SECONDS: '0.2' }, { models: recording(emulator.client({ baseDelayMs: 5 })), tools })
    const user = await quick.register()
    const conv = await conversation(user, quick)
    const res = await turn(user, conv.id, { content: 'Slow [[emulator tool=gate]]', tools: ['gate'], stream: false }, quick)
    const { assistantMessage } = await res.json()
    expect(assistantMessage.status).toBe('complete')
    expect(assistantMessage.parts[2]).toMatchObject({ type: 'tool_result', isError: true, content: 'The tool gate did not finish within 0.2 s' })
    gate.resolve()
    quick.close()
  })
})

describe('idempotent replays', () => {
  it('replay a finished tool turn from the database, tool calls and results in order, after its events expired', async () => {
    const quick = await createTestApp({ STREAM_RETENTION_SECONDS: '1' }, { models: recording(emulator.client({ baseDelayMs: 5 })), tools })
    const user = await quick.register()
    const conv = await conversation(user, quick)
    const body = { content: 'Sum [[emulator tool=calculator input={"expression":"20+22"}]]', tools: ['calculator'] }
    const headers = { 'idempotency-key': 'tool-turn' }
    const original = parseSse(await (await quick.request('POST', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken, body, headers })).text()).events
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    const replay = parseSse(await (await quick.request('POST', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken, body, headers })).text()).events
    expect(replay.map((e) => e.event)).toEqual(['generation.started', 'text.delta', 'tool.call', 'tool.result', 'text.delta', 'usage', 'generation.completed'])
    expect(replay.find((e) => e.event === 'tool.result')!.data).toEqual(original.find((e) => e.event === 'tool.result')!.data)
    expect(textOf(replay)).toBe(textOf(original))
    quick.close()
  })
})

describe('client-side tools', () => {
  const weather = { name: 'get_weather', description: 'The weather in a city', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } }

  it('ends the turn with stopReason tool_use; the next turn answers with tool_result parts and the model continues', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const first = await turn(user, conv.id, { content: 'Weather? [[emulator tool=get_weather input={"city":"Oslo"}]]', tools: ['calculator', weather], stream: false })
    const { assistantMessage } = await first.json()
    expect(assistantMessage).toMatchObject({ status: 'complete', stopReason: 'tool_use' })
    expect(assistantMessage.parts).toEqual([
      { type: 'text', text: 'You said: "Weather?". This is the Bedrock emulator.' },
      { type: 'tool_call', toolUseId: expect.any(String), name: 'get_weather', input: { city: 'Oslo' } },
    ])
    expect(requests.at(-1)!.toolConfig!.tools.map((tool) => tool.toolSpec.name)).toEqual(['calculator', 'get_weather'])
    const toolUseId = assistantMessage.parts[1].toolUseId

    const wrong = await expectProblem(await turn(user, conv.id, { content: [{ type: 'tool_result', toolUseId: 'tooluse_other', content: 'x', isError: false }], tools: [weather] }), 400, 'validation_failed')
    expect(wrong.errors).toEqual([{ path: 'content.0.toolUseId', message: expect.any(String) }])

    const res = await turn(user, conv.id, { content: [{ type: 'tool_result', toolUseId, content: 'Sunny, 21 °C', isError: false }], tools: [weather] })
    const { events } = parseSse(await res.text())
    expect(textOf(events)).toBe('Tool results: Sunny, 21 °C')
    expect(events.at(-1)).toMatchObject({ event: 'generation.completed', data: { stopReason: 'end_turn' } })
    expect(requests.at(-1)!.messages.at(-1)).toEqual({ role: 'user', content: [{ toolResult: { toolUseId, content: [{ text: 'Sunny, 21 °C' }], status: 'success' } }] })
  })
})
