// Assistants: CRUD and roles, validation naming the field, and conversations created with an assistant (model, system
// prompt, inference, tools and task copied; a turn may override model and inference; deleting the assistant breaks nothing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BedrockClient, ConverseRequest } from '../../src/bedrock/types'
import { createTestApp, expectProblem, startHttpEmulator, type TestApp } from '../helpers'
import { parseSse } from '../sse'

let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
let t: TestApp
const requests: ConverseRequest[] = []

beforeAll(async () => {
  emulator = await startHttpEmulator()
  const models = emulator.client({ baseDelayMs: 5 })
  const recording: BedrockClient = {
    converse: (request, options) => models.converse(request, options),
    converseStream: (request, options) => {
      requests.push(structuredClone(request))
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

async function join(inviter: User, workspaceId: string, user: User, role: string) {
  const invited = await inviter.call('POST', `/v1/workspaces/${workspaceId}/members`, { body: { email: user.email, role } })
  expect(invited.status).toBe(202)
  expect((await user.call('POST', `/v1/me/invitations/${(await invited.json()).id}/accept`)).status).toBe(200)
}

async function team() {
  const owner = await t.register('owner')
  const workspace = await (await owner.call('POST', '/v1/workspaces', { body: { name: 'Team' } })).json()
  const [admin, member, viewer, outsider] = [await t.register('admin'), await t.register('member'), await t.register('viewer'), await t.register('outsider')]
  await join(owner, workspace.id, admin, 'admin')
  await join(owner, workspace.id, member, 'member')
  await join(owner, workspace.id, viewer, 'viewer')
  return { owner, admin, member, viewer, outsider, workspaceId: workspace.id as string }
}

const preset = {
  name: 'Maths tutor',
  description: 'Explains arithmetic',
  modelId: 'amazon.nova-pro-v1:0',
  systemPrompt: 'You are a patient maths tutor.',
  inference: { temperature: 0.2, maxTokens: 512 },
  tools: ['calculator', 'current_time'],
}

describe('assistants', () => {
  it('admins and owners write, members and viewers read, outsiders get 404', async () => {
    const { owner, admin, member, viewer, outsider, workspaceId } = await team()
    const created = await owner.call('POST', '/v1/assistants', { body: { workspaceId, ...preset } })
    expect(created.status).toBe(201)
    const assistant = await created.json()
    expect(assistant).toMatchObject({ ...preset, workspaceId, task: 'chat', id: expect.stringMatching(/^ast_/) })
    expect(assistant.createdAt).toBe(assistant.updatedAt)

    for (const reader of [admin, member, viewer]) {
      expect(await (await reader.call('GET', `/v1/assistants/${assistant.id}`)).json()).toEqual(assistant)
      expect((await (await reader.call('GET', `/v1/assistants?workspaceId=${workspaceId}`)).json()).data).toEqual([assistant])
    }
    await expectProblem(await member.call('POST', '/v1/assistants', { body: { workspaceId, name: 'Mine' } }), 403, 'forbidden')
    await expectProblem(await member.call('PATCH', `/v1/assistants/${assistant.id}`, { body: { name: 'Renamed' } }), 403, 'forbidden')
    await expectProblem(await viewer.call('DELETE', `/v1/assistants/${assistant.id}`), 403, 'forbidden')
    await expectProblem(await outsider.call('GET', `/v1/assistants/${assistant.id}`), 404, 'not_found')
    await expectProblem(await outsider.call('PATCH', `/v1/assistants/${assistant.id}`, { body: { name: 'Mine now' } }), 404, 'not_found')
    await expectProblem(await outsider.call('DELETE', `/v1/assistants/${assistant.id}`), 404, 'not_found')
    await expectProblem(await outsider.call('GET', `/v1/assistants?workspaceId=${workspaceId}`), 404, 'not_found')
    await expectProblem(await outsider.call('POST', '/v1/assistants', { body: { workspaceId, name: 'Sneaky' } }), 404, 'not_found')

    const patched = await admin.call('PATCH', `/v1/assistants/${assistant.id}`, { body: { name: 'Arithmetic tutor', tools: ['calculator'], systemPrompt: null } })
    expect(patched.status).toBe(200)
    expect(await patched.json()).toMatchObject({ name: 'Arithmetic tutor', tools: ['calculator'], systemPrompt: null, modelId: preset.modelId })
    expect((await admin.call('DELETE', `/v1/assistants/${assistant.id}`)).status).toBe(204)
    await expectProblem(await member.call('GET', `/v1/assistants/${assistant.id}`), 404, 'not_found')
  })

  it('defaults to the personal workspace and pages the list', async () => {
    const user = await t.register()
    for (const name of ['A', 'B', 'C']) expect((await user.call('POST', '/v1/assistants', { body: { name } })).status).toBe(201)
    const first = await (await user.call('GET', '/v1/assistants?limit=2')).json()
    expect(first.data.map((a: { name: string }) => a.name)).toEqual(['A', 'B'])
    expect(first.data[0]).toMatchObject({ workspaceId: user.workspace.id, modelId: null, tools: [], inference: {}, task: 'chat', description: null })
    const second = await (await user.call('GET', `/v1/assistants?limit=2&cursor=${first.nextCursor}`)).json()
    expect(second).toMatchObject({ data: [{ name: 'C' }], nextCursor: null })
  })

  it.each([
    { body: { name: 'x', tools: ['calculator', 'web_search'] }, path: 'tools.1' },
    { body: { name: 'x', tools: ['mcp__nowhere__search'] }, path: 'tools.0' },
    { body: { name: 'x', tools: ['calculator', 'calculator'] }, path: 'tools.1' },
    { body: { name: 'x', inference: { temperature: 1.5 } }, path: 'inference.temperature' },
    { body: { name: 'x', inference: { maxTokens: 0 } }, path: 'inference.maxTokens' },
    { body: { name: 'x', task: 'summarize' }, path: 'task' },
    { body: { name: 'x', modelId: 'no.such-model' }, path: 'modelId' },
    { body: { name: '   ' }, path: 'name' },
    { body: {}, path: 'name' },
  ])('refuses $path', async ({ body, path }) => {
    const user = await t.register()
    const problem = await expectProblem(await user.call('POST', '/v1/assistants', { body }), 400, 'validation_failed')
    expect((problem.errors as { path: string }[]).map((error) => error.path)).toContain(path)
    expect((await (await user.call('GET', '/v1/assistants')).json()).data).toEqual([])
  })
})

describe('conversations with an assistant', () => {
  it('take its model, system prompt, inference, tools and task; a turn may override model and inference', async () => {
    const { owner, member, workspaceId } = await team()
    const assistant = await (await owner.call('POST', '/v1/assistants', { body: { workspaceId, ...preset } })).json()
    const res = await member.call('POST', '/v1/conversations', { body: { assistantId: assistant.id } })
    expect(res.status).toBe(201)
    const conv = await res.json()
    expect(conv).toMatchObject({ workspaceId, assistantId: assistant.id, modelId: preset.modelId })

    const from = requests.length
    const turn = await member.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'What is 6*7? [[emulator tool=calculator input={"expression":"6*7"}]]' } })
    const { events } = parseSse(await turn.text())
    expect(events.at(-1)).toMatchObject({ event: 'generation.completed', data: { stopReason: 'end_turn' } })
    expect(events.find((e) => e.event === 'tool.result')!.data).toMatchObject({ output: '42', isError: false })
    const [first] = requests.slice(from)
    expect(first).toMatchObject({
      modelId: preset.modelId,
      system: [{ text: preset.systemPrompt }],
      inferenceConfig: { temperature: 0.2, maxTokens: 512 },
      toolConfig: { tools: [{ toolSpec: { name: 'calculator' } }, { toolSpec: { name: 'current_time' } }] },
    })

    const override = await member.call('POST', `/v1/conversations/${conv.id}/messages`, {
      body: { content: 'again', stream: false, modelId: 'amazon.nova-lite-v1:0', inference: { temperature: 0.9 } },
    })
    expect(override.status).toBe(201)
    expect(requests.at(-1)).toMatchObject({ modelId: 'amazon.nova-lite-v1:0', inferenceConfig: { temperature: 0.9, maxTokens: 512 } })

    // The request's own model and system prompt win over the assistant's.
    const own = await (await member.call('POST', '/v1/conversations', { body: { assistantId: assistant.id, modelId: 'amazon.nova-lite-v1:0', systemPrompt: 'Be brief.' } })).json()
    await member.call('POST', `/v1/conversations/${own.id}/messages`, { body: { content: 'hi', stream: false } })
    expect(requests.at(-1)).toMatchObject({ modelId: 'amazon.nova-lite-v1:0', system: [{ text: 'Be brief.' }] })
  })

  it('stay readable and usable with the values they had after the assistant is deleted or changed', async () => {
    const { owner, member, workspaceId } = await team()
    const assistant = await (await owner.call('POST', '/v1/assistants', { body: { workspaceId, ...preset } })).json()
    const conv = await (await member.call('POST', '/v1/conversations', { body: { assistantId: assistant.id } })).json()
    await owner.call('PATCH', `/v1/assistants/${assistant.id}`, { body: { systemPrompt: 'Changed.', tools: [] } })
    expect((await owner.call('DELETE', `/v1/assistants/${assistant.id}`)).status).toBe(204)
    expect((await member.call('GET', `/v1/conversations/${conv.id}`)).status).toBe(200)
    const res = await member.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'Add [[emulator tool=calculator input={"expression":"2+3"}]]', stream: false } })
    expect(res.status).toBe(201)
    const { assistantMessage } = await res.json()
    expect(assistantMessage.parts.find((part: { type: string }) => part.type === 'tool_result')).toMatchObject({ content: '5', isError: false })
    expect(requests.at(-2)).toMatchObject({ system: [{ text: preset.systemPrompt }], toolConfig: { tools: [{ toolSpec: { name: 'calculator' } }, { toolSpec: { name: 'current_time' } }] } })
  })

  it("404 for an assistant of a workspace the caller is not in, or another workspace's than the conversation's", async () => {
    const { owner, workspaceId } = await team()
    const assistant = await (await owner.call('POST', '/v1/assistants', { body: { workspaceId, name: 'Team bot' } })).json()
    const stranger = await t.register()
    await expectProblem(await stranger.call('POST', '/v1/conversations', { body: { assistantId: assistant.id } }), 404, 'not_found')
    await expectProblem(await stranger.call('POST', '/v1/conversations', { body: { assistantId: 'ast_missing' } }), 404, 'not_found')
    await expectProblem(await owner.call('POST', '/v1/conversations', { body: { assistantId: assistant.id, workspaceId: owner.workspace.id } }), 404, 'not_found')
    // Without a workspaceId, the conversation goes where its assistant is.
    const conv = await (await owner.call('POST', '/v1/conversations', { body: { assistantId: assistant.id } })).json()
    expect(conv.workspaceId).toBe(workspaceId)
  })

  it('the AI SDK route creates its conversation with the assistant, and the UI stream carries the tool parts', async () => {
    const user = await t.register()
    const assistant = await (await user.call('POST', '/v1/assistants', { body: { name: 'Calc', tools: ['calculator'] } })).json()
    const res = await user.call('POST', '/v1/ui/chat', {
      body: {
        id: `chat-${crypto.randomUUID()}`,
        assistantId: assistant.id,
        trigger: 'submit-message',
        messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Sum [[emulator tool=calculator input={"expression":"40+2"}]]' }] }],
      },
    })
    expect(res.status).toBe(200)
    const chunks = (await res.text())
      .split('\n\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => JSON.parse(line.slice(6)))
    const input = chunks.find((chunk) => chunk.type === 'tool-input-available')
    expect(input).toMatchObject({ toolName: 'calculator', input: { expression: '40+2' } })
    expect(chunks.find((chunk) => chunk.type === 'tool-output-available')).toEqual({ type: 'tool-output-available', toolCallId: input.toolCallId, output: '42' })
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' })
  })
})
