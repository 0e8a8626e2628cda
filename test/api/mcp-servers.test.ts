// MCP servers: CRUD and roles, header values write-only and encrypted at rest, and their tools called by the tool
// loop over Streamable HTTP against real servers this file starts with the official SDKs: a 1.x server (the 2025-11-25
// revision, with sessions) and a 2.x server (the stateless 2026-07-28 revision, with the 2025 fallback).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, startHttpEmulator, type TestApp } from '../helpers'
import { parseSse } from '../sse'
import { SECRET, startV1Server, startV2Server } from '../mcp-servers'

let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
let v1: Awaited<ReturnType<typeof startV1Server>>
let v2: Awaited<ReturnType<typeof startV2Server>>
let t: TestApp

beforeAll(async () => {
  ;[emulator, v1, v2] = await Promise.all([startHttpEmulator(), startV1Server(), startV2Server()])
  t = await createTestApp({ TOOL_TIMEOUT_SECONDS: '10', MCP_ALLOW_PRIVATE_URLS: 'true' }, { models: emulator.client({ baseDelayMs: 5 }) })
})
afterAll(async () => {
  t.close()
  await Promise.all([emulator.close(), v1.close(), v2.close()])
})

type User = Awaited<ReturnType<TestApp['register']>>

async function join(inviter: User, workspaceId: string, user: User, role: string) {
  const invited = await inviter.call('POST', `/v1/workspaces/${workspaceId}/members`, { body: { email: user.email, role } })
  expect((await user.call('POST', `/v1/me/invitations/${(await invited.json()).id}/accept`)).status).toBe(200)
}

async function addServer(user: User, workspaceId: string, body: Record<string, unknown>) {
  const res = await user.call('POST', `/v1/workspaces/${workspaceId}/mcp-servers`, { body })
  expect(res.status, await res.clone().text()).toBe(201)
  return res.json()
}

/** A turn in a new conversation of `user` with `tools`, calling `tool` with `input`; returns the tool.result data. */
async function callTool(user: User, tools: string[], tool: string, input: unknown = {}) {
  const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
  const res = await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: `Go [[emulator tool=${tool} input=${JSON.stringify(input)}]]`, tools } })
  const { events } = parseSse(await res.text())
  expect(events.at(-1)!.event).toBe('generation.completed')
  return events.find((event) => event.event === 'tool.result')!.data
}

describe('MCP servers', () => {
  it('admins add servers; header values are write-only and stored encrypted', async () => {
    const owner = await t.register()
    const server = await addServer(owner, owner.workspace.id, { name: 'legacy', url: v1.url, headers: { 'X-Api-Key': SECRET } })
    expect(server).toEqual({ id: expect.stringMatching(/^mcp_/), workspaceId: owner.workspace.id, name: 'legacy', url: v1.url, enabled: true, createdAt: expect.any(String), updatedAt: expect.any(String) })
    const listed = await (await owner.call('GET', `/v1/workspaces/${owner.workspace.id}/mcp-servers`)).json()
    expect(listed.data).toEqual([server])
    expect(JSON.stringify(listed)).not.toContain(SECRET)
    const stored = await t.client.execute({ sql: 'select headers from mcp_servers where id = ?', args: [server.id] })
    expect(String(stored.rows[0]!.headers)).toMatch(/^v1\./)
    expect(String(stored.rows[0]!.headers)).not.toContain(SECRET)
    expect(String(stored.rows[0]!.headers)).not.toContain('X-Api-Key')
  })

  it("calls a 1.x server's tools as mcp__{name}__{tool}, with the configured header, through a session", async () => {
    const owner = await t.register()
    await addServer(owner, owner.workspace.id, { name: 'legacy', url: v1.url, headers: { 'X-Api-Key': SECRET } })
    const tools = (await (await owner.call('GET', '/v1/tools')).json()).data
    expect(tools.filter((tool: { source: string }) => tool.source === 'mcp')).toEqual([
      { name: 'mcp__legacy__add', description: 'Adds two numbers', source: 'mcp', server: 'legacy', inputSchema: expect.objectContaining({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } }) },
      { name: 'mcp__legacy__whoami', description: 'The API key this request carried', source: 'mcp', server: 'legacy', inputSchema: expect.objectContaining({ type: 'object' }) },
      { name: 'mcp__legacy__broken', description: 'Always fails', source: 'mcp', server: 'legacy', inputSchema: expect.objectContaining({ type: 'object' }) },
    ])
    const from = v1.seen.length
    expect(await callTool(owner, ['mcp__legacy__whoami'], 'mcp__legacy__whoami')).toMatchObject({ output: `key=${SECRET}`, isError: false })
    const calls = v1.seen.slice(from)
    expect(calls.map((call) => call.method)).toContain('initialize')
    expect(calls.find((call) => call.method === 'tools/call')).toMatchObject({ protocolVersion: '2025-11-25', sessionId: expect.any(String) })
    expect(await callTool(owner, ['mcp__legacy__add'], 'mcp__legacy__add', { a: 2, b: 3 })).toMatchObject({ output: '5', isError: false })
    expect(await callTool(owner, ['mcp__legacy__broken'], 'mcp__legacy__broken')).toMatchObject({ output: 'the database is down', isError: true })
  })

  it("calls a 2.x server's tools over the stateless 2026-07-28 revision", async () => {
    const owner = await t.register()
    await addServer(owner, owner.workspace.id, { name: 'modern', url: v2.url, headers: { 'X-Api-Key': SECRET } })
    const from = v2.seen.length
    expect(await callTool(owner, ['mcp__modern__multiply', 'mcp__modern__whoami'], 'mcp__modern__multiply', { a: 6, b: 7 })).toMatchObject({ output: '42', isError: false })
    expect(await callTool(owner, ['mcp__modern__whoami'], 'mcp__modern__whoami')).toMatchObject({ output: `key=${SECRET}`, isError: false })
    expect(v2.seen.slice(from)).toContainEqual({ method: 'tools/call', protocolVersion: '2026-07-28' })
    expect(v2.seen.slice(from).some((call) => call.method === 'initialize')).toBe(false)
  })

  it('a disabled, unreachable or removed server gives the model an error result, never a failed turn', async () => {
    const owner = await t.register()
    const ws = owner.workspace.id
    const server = await addServer(owner, ws, { name: 'legacy', url: v1.url })
    const down = await addServer(owner, ws, { name: 'down', url: 'http://127.0.0.1:9/mcp' })
    // Its list cannot be read, so the name is accepted; the call then fails for the model to see.
    const assistant = await owner.call('POST', '/v1/assistants', { body: { name: 'x', tools: ['mcp__down__search', 'mcp__legacy__add'] } })
    expect(assistant.status).toBe(201)
    expect(await callTool(owner, ['mcp__down__search'], 'mcp__down__search')).toMatchObject({ isError: true, output: expect.stringContaining('could not be reached') })
    expect((await (await owner.call('GET', '/v1/tools')).json()).data.some((tool: { name: string }) => tool.name.startsWith('mcp__down__'))).toBe(false)

    // A redirect is not followed: it could lead where the URL check would not let the server go.
    const redirecting = createServer((_req, res) => res.writeHead(307, { location: v1.url }).end())
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve))
    await addServer(owner, ws, { name: 'moved', url: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/mcp` })
    expect(await callTool(owner, ['mcp__moved__add'], 'mcp__moved__add', { a: 1, b: 2 })).toMatchObject({ isError: true, output: expect.stringContaining('HTTP 307') })
    await new Promise((resolve) => redirecting.close(resolve))

    const conv = await (await owner.call('POST', '/v1/conversations', { body: { assistantId: (await assistant.json()).id } })).json()
    expect((await owner.call('PATCH', `/v1/workspaces/${ws}/mcp-servers/${server.id}`, { body: { enabled: false } })).status).toBe(200)
    const res = await owner.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'Add [[emulator tool=mcp__legacy__add input={"a":1,"b":1}]]', stream: false } })
    expect(res.status).toBe(201)
    const parts = (await res.json()).assistantMessage.parts
    expect(parts.find((part: { type: string }) => part.type === 'tool_result')).toMatchObject({ isError: true, content: 'The MCP server legacy is disabled' })
    expect((await (await owner.call('GET', '/v1/tools')).json()).data.some((tool: { name: string }) => tool.name.startsWith('mcp__legacy__'))).toBe(false)

    expect((await owner.call('DELETE', `/v1/workspaces/${ws}/mcp-servers/${server.id}`)).status).toBe(204)
    expect((await owner.call('DELETE', `/v1/workspaces/${ws}/mcp-servers/${down.id}`)).status).toBe(204)
    const gone = await owner.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'Add again [[emulator tool=mcp__legacy__add input={"a":1,"b":1}]]', stream: false } })
    expect((await gone.json()).assistantMessage.parts.find((part: { type: string }) => part.type === 'tool_result')).toMatchObject({ isError: true, content: 'This workspace has no MCP server named legacy' })
  })

  it("members get 403; another workspace's servers are 404; bad input names the field", async () => {
    const owner = await t.register()
    const team = await (await owner.call('POST', '/v1/workspaces', { body: { name: 'Team' } })).json()
    const member = await t.register()
    await join(owner, team.id, member, 'member')
    const server = await addServer(owner, team.id, { name: 'legacy', url: v1.url, headers: { 'X-Api-Key': SECRET } })
    await expectProblem(await member.call('GET', `/v1/workspaces/${team.id}/mcp-servers`), 403, 'forbidden')
    await expectProblem(await member.call('POST', `/v1/workspaces/${team.id}/mcp-servers`, { body: { name: 'mine', url: v1.url } }), 403, 'forbidden')
    await expectProblem(await member.call('PATCH', `/v1/workspaces/${team.id}/mcp-servers/${server.id}`, { body: { enabled: false } }), 403, 'forbidden')
    const stranger = await t.register()
    await expectProblem(await stranger.call('GET', `/v1/workspaces/${team.id}/mcp-servers/${server.id}`), 404, 'not_found')
    await expectProblem(await stranger.call('DELETE', `/v1/workspaces/${team.id}/mcp-servers/${server.id}`), 404, 'not_found')
    // The server's id under another workspace of the owner's is not found either.
    await expectProblem(await owner.call('GET', `/v1/workspaces/${owner.workspace.id}/mcp-servers/${server.id}`), 404, 'not_found')

    for (const [body, path] of [
      [{ name: 'a__b', url: v1.url }, 'name'],
      [{ name: 'has space', url: v1.url }, 'name'],
      [{ name: 'ok', url: 'ftp://example.com/mcp' }, 'url'],
      [{ name: 'ok', url: v1.url, headers: { 'Bad Header': 'x' } }, 'headers.Bad Header'],
      [{ name: 'ok', url: v1.url, headers: { 'X-Key': 'line\r\nbreak' } }, 'headers.X-Key'],
    ] as const) {
      const problem = await expectProblem(await owner.call('POST', `/v1/workspaces/${team.id}/mcp-servers`, { body }), 400, 'validation_failed')
      expect((problem.errors as { path: string }[]).map((error) => error.path)).toContain(path)
    }
    await expectProblem(await owner.call('POST', `/v1/workspaces/${team.id}/mcp-servers`, { body: { name: 'legacy', url: v2.url } }), 409, 'conflict')
    // By default, URLs naming this machine or a private network are refused (the tests above allow them).
    const strict = await createTestApp({}, { models: emulator.client() })
    const admin = await strict.register()
    for (const url of [v1.url, 'http://localhost:8080/mcp', 'http://169.254.169.254/latest', 'http://10.1.2.3/mcp', 'http://[::1]:9/mcp', 'http://[fd00::1]/mcp', 'http://0x7f000001/mcp']) {
      const problem = await expectProblem(await admin.call('POST', `/v1/workspaces/${admin.workspace.id}/mcp-servers`, { body: { name: 'local', url } }), 400, 'validation_failed')
      expect(problem.errors).toEqual([{ path: 'url', message: 'must not name localhost or a private network address' }])
    }
    expect((await admin.call('POST', `/v1/workspaces/${admin.workspace.id}/mcp-servers`, { body: { name: 'public', url: 'https://mcp.example.com/mcp' } })).status).toBe(201)
    strict.close()
    // A reachable server's own list refuses a tool it does not have.
    const refused = await expectProblem(await owner.call('POST', '/v1/assistants', { body: { workspaceId: team.id, name: 'x', tools: ['mcp__legacy__nope'] } }), 400, 'validation_failed')
    expect(refused.errors).toEqual([{ path: 'tools.0', message: 'The MCP server legacy has no tool nope' }])
  })
})
