// Assistants and the tool loop inside workerd, through the Worker entry: real D1, the in-process Bedrock emulator, the
// isolate's memory hub, and the Durable Object hub (the turn's tools cross the object's RPC boundary).
import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker, { type WorkerEnv } from '../../src/entries/worker'
import { parseSse, type ParsedEvent } from '../sse'
import { call, expectProblem, ORIGIN, readReply, register, request, type Json, type Registered } from './helpers'

const kinds = (events: ParsedEvent[]) => events.map((event) => event.event).filter((kind, i, all) => kind !== 'text.delta' || all[i - 1] !== 'text.delta')
const textOf = (events: ParsedEvent[]) => events.filter((e) => e.event === 'text.delta').map((e) => String(e.data.delta)).join('')

async function conversation(user: Registered, body: Record<string, unknown> = {}): Promise<Json> {
  const reply = await call('POST', '/v1/conversations', { token: user.accessToken, json: body })
  expect(reply.status, reply.text).toBe(201)
  return reply.body
}

async function storedParts(conversationId: string) {
  const row = await env.DB.prepare("SELECT parts, status, stop_reason FROM messages WHERE conversation_id = ? AND role = 'assistant' ORDER BY id DESC")
    .bind(conversationId)
    .first<{ parts: string; status: string; stop_reason: string | null }>()
  return { ...row!, parts: JSON.parse(row!.parts) as Json[] }
}

describe('workers: tools', () => {
  it('lists the built-in tools and the tasks', async () => {
    const user = await register('tools')
    const tools = await call('GET', '/v1/tools', { token: user.accessToken })
    expect(tools.status, tools.text).toBe(200)
    expect(tools.body.data.map((tool: Json) => tool.name)).toEqual(['current_time', 'calculator'])
    expect((await call('GET', '/v1/tasks', { token: user.accessToken })).body.data.map((task: Json) => task.name)).toEqual(['chat'])
  })

  it('runs the loop: calculator on 6*7, then the answer with 42, stored in order', async () => {
    const user = await register('loop')
    const conv = await conversation(user)
    const res = await request('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: 'What is 6*7? [[emulator tool=calculator input={"expression":"6*7"}]]', tools: ['calculator'] },
    })
    const { events } = parseSse(await res.text())
    expect(kinds(events)).toEqual(['generation.started', 'text.delta', 'tool.call', 'usage', 'tool.result', 'text.delta', 'usage', 'generation.completed'])
    expect(events.find((e) => e.event === 'tool.result')!.data).toMatchObject({ output: '42', isError: false })
    expect(textOf(events)).toMatch(/Tool results: 42$/)
    const stored = await storedParts(conv.id)
    expect(stored.status).toBe('complete')
    expect(stored.parts.map((part) => part.type)).toEqual(['text', 'tool_call', 'tool_result', 'text'])
  })

  it('current_time knows IANA time zones under workerd', async () => {
    const user = await register('time')
    const conv = await conversation(user)
    const reply = await call('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: 'Time [[emulator tool=current_time input={"timeZone":"Asia/Kolkata"}]]', tools: ['current_time'], stream: false },
    })
    expect(reply.status, reply.text).toBe(201)
    const result = reply.body.assistantMessage.parts.find((part: Json) => part.type === 'tool_result')
    expect(result.isError).toBe(false)
    expect(result.content.iso).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+05:30$/)
  })

  it('stops after MAX_TOOL_STEPS model calls and answers', async () => {
    const user = await register('bound')
    const conv = await conversation(user)
    const reply = await call('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: 'Loop [[emulator tool=calculator input={"expression":"1+1"} repeat]]', tools: ['calculator'], stream: false },
    })
    expect(reply.status, reply.text).toBe(201)
    const parts: Json[] = reply.body.assistantMessage.parts
    expect(parts.filter((part) => part.type === 'tool_call')).toHaveLength(7)
    expect(parts.filter((part) => part.type === 'tool_result')).toHaveLength(7)
    expect(parts.at(-1).type).toBe('text')
    expect(reply.body.assistantMessage.stopReason).toBe('end_turn')
  })

  it('a client-side tool ends the turn with tool_use; the next turn’s tool_result continues it', async () => {
    const user = await register('client')
    const conv = await conversation(user)
    const weather = { name: 'get_weather', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } }
    const first = await call('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: 'Weather [[emulator tool=get_weather input={"city":"Rome"}]]', tools: [weather], stream: false },
    })
    expect(first.body.assistantMessage.stopReason).toBe('tool_use')
    const callPart = first.body.assistantMessage.parts.find((part: Json) => part.type === 'tool_call')
    const second = await call('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: [{ type: 'tool_result', toolUseId: callPart.toolUseId, content: 'Warm', isError: false }], tools: [weather], stream: false },
    })
    expect(second.status, second.text).toBe(201)
    expect(second.body.assistantMessage.parts).toEqual([{ type: 'text', text: 'Tool results: Warm' }])
  })

  it('assistants: admin writes, outsiders get 404, conversations take the assistant’s tools', async () => {
    const owner = await register('owner')
    const outsider = await register('outsider')
    const created = await call('POST', '/v1/assistants', { token: owner.accessToken, json: { name: 'Calc', tools: ['calculator'], systemPrompt: 'Count well.', inference: { temperature: 0.1 } } })
    expect(created.status, created.text).toBe(201)
    expectProblem(await call('GET', `/v1/assistants/${created.body.id}`, { token: outsider.accessToken }), 404, 'not_found')
    expectProblem(await call('POST', '/v1/assistants', { token: owner.accessToken, json: { name: 'Bad', tools: ['nope'] } }), 400, 'validation_failed')
    const conv = await conversation(owner, { assistantId: created.body.id })
    expect(conv.assistantId).toBe(created.body.id)
    const reply = await call('POST', `/v1/conversations/${conv.id}/messages`, {
      token: owner.accessToken,
      json: { content: 'Sum [[emulator tool=calculator input={"expression":"(1+2)*3"}]]', stream: false },
    })
    expect(reply.body.assistantMessage.parts.find((part: Json) => part.type === 'tool_result')).toMatchObject({ content: '9', isError: false })
    expect((await call('DELETE', `/v1/assistants/${created.body.id}`, { token: owner.accessToken })).status).toBe(204)
    expect((await call('GET', `/v1/conversations/${conv.id}`, { token: owner.accessToken })).status).toBe(200)
  })

  it('assistants: members of a team read them and get 403 on writes', async () => {
    const owner = await register('team-owner')
    const member = await register('team-member')
    const team = await call('POST', '/v1/workspaces', { token: owner.accessToken, json: { name: 'Team' } })
    const invited = await call('POST', `/v1/workspaces/${team.body.id}/members`, { token: owner.accessToken, json: { email: member.email, role: 'member' } })
    expect((await call('POST', `/v1/me/invitations/${invited.body.id}/accept`, { token: member.accessToken })).status).toBe(200)
    const created = await call('POST', '/v1/assistants', { token: owner.accessToken, json: { workspaceId: team.body.id, name: 'Team bot', tools: ['current_time'] } })
    expect(created.status, created.text).toBe(201)
    expect((await call('GET', `/v1/assistants/${created.body.id}`, { token: member.accessToken })).body).toEqual(created.body)
    expectProblem(await call('PATCH', `/v1/assistants/${created.body.id}`, { token: member.accessToken, json: { name: 'Mine' } }), 403, 'forbidden')
    expectProblem(await call('POST', '/v1/assistants', { token: member.accessToken, json: { workspaceId: team.body.id, name: 'Mine' } }), 403, 'forbidden')
    expectProblem(await call('GET', `/v1/workspaces/${team.body.id}/mcp-servers`, { token: member.accessToken }), 403, 'forbidden')
  })

  it('runs the loop in the Durable Object hub: the tools cross the object’s RPC boundary', async () => {
    const doEnv: WorkerEnv = { ...env }
    delete doEnv.STREAM_STATE
    const send = async (method: string, path: string, token: string, json?: unknown) =>
      readReply(
        await worker.fetch(
          new Request(`${ORIGIN}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(json ? { body: JSON.stringify(json) } : {}) }),
          doEnv,
          createExecutionContext(),
        ),
      )
    const user = await register('durable')
    const conv = (await send('POST', '/v1/conversations', user.accessToken, {})).body
    const reply = await send('POST', `/v1/conversations/${conv.id}/messages`, user.accessToken, {
      content: 'Sum [[emulator tool=calculator input={"expression":"sqrt(81)"}]]',
      tools: ['calculator'],
      stream: false,
    })
    expect(reply.status, reply.text).toBe(201)
    expect(reply.body.assistantMessage.parts.find((part: Json) => part.type === 'tool_result')).toMatchObject({ content: '9', isError: false })
  })
})
