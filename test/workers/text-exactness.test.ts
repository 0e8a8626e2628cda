// API.md, "Text is kept exactly", through the Worker entry inside workerd on a real (local) D1 database; the Node
// side is test/api/text-exactness.test.ts.
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { EXACT, EXACT_2, LONE_SURROGATE, NOT_AN_OBJECT, jsonBodyOperations, nestedJson } from '../text-samples'
import { PASSWORD, call, expectProblem, register, uniqueEmail } from './helpers'

describe('workers: text is kept exactly', () => {
  it('through every text field a client stores, on D1', async () => {
    const reply = await call('POST', '/v1/auth/register', { json: { email: uniqueEmail('exact'), password: PASSWORD, name: EXACT } })
    expect(reply.status, reply.text).toBe(201)
    expect(reply.body.user.name).toBe(EXACT)
    const token = reply.body.accessToken as string
    const ok = async (method: string, path: string, json?: unknown) => {
      const answer = await call(method, path, { token, json })
      expect(answer.status, `${method} ${path}: ${answer.text}`).toBeLessThan(300)
      return answer.body
    }

    const me = await ok('GET', '/v1/me')
    expect(me.user.name).toBe(EXACT)
    expect(me.workspaces[0].name).toBe(`${EXACT}'s workspace`)
    const team = await ok('POST', '/v1/workspaces', { name: EXACT })
    await ok('PATCH', `/v1/workspaces/${team.id}`, { name: EXACT_2 })
    expect((await ok('GET', `/v1/workspaces/${team.id}`)).name).toBe(EXACT_2)

    const key = await ok('POST', '/v1/api-keys', { name: EXACT })
    expect((await ok('GET', '/v1/api-keys')).data.find((k: { id: string }) => k.id === key.id).name).toBe(EXACT)

    const metadata = { [EXACT]: EXACT, nested: [{ [EXACT_2]: EXACT_2 }] }
    const conversation = await ok('POST', '/v1/conversations', { title: EXACT, systemPrompt: EXACT, metadata })
    const read = await ok('GET', `/v1/conversations/${conversation.id}`)
    expect(read).toMatchObject({ title: EXACT, systemPrompt: EXACT })
    expect(read.metadata).toEqual(metadata)
    await ok('PATCH', `/v1/conversations/${conversation.id}`, { title: EXACT_2 })
    expect((await ok('GET', `/v1/conversations/${conversation.id}`)).title).toBe(EXACT_2)

    const turn = await ok('POST', `/v1/conversations/${conversation.id}/messages`, { content: EXACT, stream: false })
    await ok('PUT', `/v1/messages/${turn.assistantMessage.id}/feedback`, { rating: 'down', comment: EXACT_2 })
    const messages = (await ok('GET', `/v1/conversations/${conversation.id}/messages`)).data
    const byId = (id: string) => messages.find((message: { id: string }) => message.id === id)
    expect(byId(turn.userMessage.id).parts).toEqual([{ type: 'text', text: EXACT }])
    expect(byId(turn.assistantMessage.id).feedback).toEqual({ rating: 'down', comment: EXACT_2 })

    // D1 holds the exact UTF-8 bytes.
    const row = await env.DB.prepare('SELECT name, hex(name) AS bytes FROM users WHERE id = ?').bind(reply.body.user.id).first<{ name: string; bytes: string }>()
    expect(row?.name).toBe(EXACT)
    const hex = [...new TextEncoder().encode(EXACT)].map((byte) => byte.toString(16).padStart(2, '0')).join('').toUpperCase()
    expect(row?.bytes).toBe(hex)
  })

  it('refuses a lone surrogate with a 400 naming the field', async () => {
    const reply = await call('POST', '/v1/auth/register', { json: { email: uniqueEmail('lone'), password: PASSWORD, name: LONE_SURROGATE } })
    expect(expectProblem(reply, 400, 'validation_failed').errors).toEqual([{ path: 'name', message: expect.stringMatching(/surrogate/) }])
    const { accessToken } = await register('lone')
    const titled = await call('POST', '/v1/conversations', { token: accessToken, json: { metadata: { list: [LONE_SURROGATE] } } })
    expect(expectProblem(titled, 400, 'validation_failed').errors).toEqual([{ path: 'metadata.list.0', message: expect.stringMatching(/surrogate/) }])
  })

  it('refuses deeply nested metadata with a 400, not a 500', async () => {
    const { accessToken } = await register('deep')
    const reply = await call('POST', '/v1/conversations', {
      token: accessToken,
      body: `{"metadata": {"tree": ${nestedJson(5_000)}}}`,
      headers: { 'content-type': 'application/json' },
    })
    expect(expectProblem(reply, 400, 'validation_failed').errors).toEqual([{ path: 'metadata', message: expect.stringMatching(/64 levels/) }])
  })

  it('answers every JSON route with `errors` when the body is not a JSON object', async () => {
    const operations = jsonBodyOperations((await call('GET', '/openapi.json')).body)
    expect(operations.length).toBeGreaterThanOrEqual(14)
    const { accessToken } = await register('notjson')
    for (const { method, path } of operations) {
      for (const body of NOT_AN_OBJECT) {
        const reply = await call(method, path, { token: accessToken, body, headers: { 'content-type': 'application/json' } })
        const what = `${method} ${path} with ${JSON.stringify(body)}: ${reply.text}`
        expect(reply.status, what).toBe(400)
        expect(reply.body.errors, what).toEqual([{ path: '', message: expect.any(String) }])
      }
    }
  })
})
