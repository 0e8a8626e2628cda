// MCP servers from inside workerd: the Worker calls real MCP servers (started in Node by mcp-global-setup.ts with the
// official SDKs 1.x and 2.x) over Streamable HTTP, with the configured header, and an unreachable one is an error result.
import { describe, expect, inject, it } from 'vitest'
import { parseSse, readRest, readSseUntil } from '../sse'
import { call, expectProblem, register, request, type Json, type Registered } from './helpers'

const SECRET = 'k3y-only-the-server-knows'

async function toolResult(user: Registered, tool: string, input: unknown = {}) {
  const conv = await call('POST', '/v1/conversations', { token: user.accessToken, json: {} })
  const res = await request('POST', `/v1/conversations/${conv.body.id}/messages`, {
    token: user.accessToken,
    json: { content: `Go [[emulator tool=${tool} input=${JSON.stringify(input)}]]`, tools: [tool] },
  })
  const { events } = parseSse(await res.text())
  expect(events.at(-1)!.event).toBe('generation.completed')
  return events.find((event) => event.event === 'tool.result')!.data as Json
}

describe('workers: MCP servers', () => {
  it('calls a 1.x and a 2.x server with the configured header; an unreachable server is an error result', async () => {
    const { legacy, modern } = inject('mcpServers')
    const owner = await register('mcp')
    for (const [name, url] of [['legacy', legacy], ['modern', modern]]) {
      const created = await call('POST', `/v1/workspaces/${owner.workspaceId}/mcp-servers`, { token: owner.accessToken, json: { name, url, headers: { 'X-Api-Key': SECRET } } })
      expect(created.status, created.text).toBe(201)
      expect(created.text).not.toContain(SECRET)
    }
    const tools = (await call('GET', '/v1/tools', { token: owner.accessToken })).body.data.map((tool: Json) => tool.name)
    expect(tools).toEqual(expect.arrayContaining(['mcp__legacy__add', 'mcp__legacy__whoami', 'mcp__modern__multiply', 'mcp__modern__whoami']))
    expect(await toolResult(owner, 'mcp__legacy__whoami')).toMatchObject({ output: `key=${SECRET}`, isError: false })
    expect(await toolResult(owner, 'mcp__modern__whoami')).toMatchObject({ output: `key=${SECRET}`, isError: false })
    expect(await toolResult(owner, 'mcp__modern__multiply', { a: 6, b: 7 })).toMatchObject({ output: '42', isError: false })

    // workerd logs "uncaught exception … Network connection lost" for every failed fetch, even one whose rejection is
    // handled (as here: it becomes the error result below).
    await call('POST', `/v1/workspaces/${owner.workspaceId}/mcp-servers`, { token: owner.accessToken, json: { name: 'down', url: 'http://127.0.0.1:9/mcp' } })
    expect(await toolResult(owner, 'mcp__down__search')).toMatchObject({ isError: true, output: expect.stringContaining('could not be reached') })

    // Cancel while an MCP tool runs: the turn ends cancelled at once, keeping the call.
    const conv = await call('POST', '/v1/conversations', { token: owner.accessToken, json: {} })
    const res = await request('POST', `/v1/conversations/${conv.body.id}/messages`, {
      token: owner.accessToken,
      json: { content: 'Wait [[emulator tool=mcp__modern__slow]]', tools: ['mcp__modern__slow'] },
    })
    const { events, reader } = await readSseUntil(res, (event) => event.event === 'tool.call')
    const cancelled = await call('POST', `/v1/generations/${events[0]!.data.generationId}/cancel`, { token: owner.accessToken })
    expect(cancelled.status).toBe(202)
    const rest = await readRest(reader)
    expect(rest.at(-1)!.event).toBe('generation.cancelled')
    expect(rest.some((event) => event.event === 'tool.result')).toBe(false)
    const stored = await call('GET', `/v1/conversations/${conv.body.id}/messages`, { token: owner.accessToken })
    expect(stored.body.data[1]).toMatchObject({ status: 'cancelled', parts: [{ type: 'text' }, { type: 'tool_call', name: 'mcp__modern__slow' }] })

    const stranger = await register('mcp-stranger')
    expectProblem(await call('GET', `/v1/workspaces/${owner.workspaceId}/mcp-servers`, { token: stranger.accessToken }), 404, 'not_found')
  })
})
