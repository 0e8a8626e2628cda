// API.md, "Text is kept exactly": every stored string reads back byte for byte, or is refused with a 400 naming
// the field. Node over LibsqlFileClient (the native libsql binding); test/workers/text-exactness.test.ts runs the
// same through workerd and D1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, type TestApp } from '../helpers'
import { EXACT, EXACT_2, LONE_SURROGATE, nestedJson } from '../text-samples'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

const base64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)))

describe('text is kept exactly', () => {
  it('through every text field a client stores', async () => {
    const email = `exact-${crypto.randomUUID().slice(0, 8)}@example.com`
    const registered = await t.request('POST', '/v1/auth/register', { body: { email, password: 'correct horse battery', name: EXACT } })
    expect(registered.status, await registered.clone().text()).toBe(201)
    const { accessToken, user, workspace } = await registered.json()
    expect(user.name).toBe(EXACT)
    const call = (method: string, path: string, body?: unknown) => t.request(method, path, { token: accessToken, body })
    const json = async (method: string, path: string, body?: unknown) => {
      const res = await call(method, path, body)
      expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300)
      return res.json()
    }

    // Account and workspaces.
    const me = await json('GET', '/v1/me')
    expect(me.user.name).toBe(EXACT)
    expect(me.workspaces.find((w: { id: string }) => w.id === workspace.id).name).toBe(`${EXACT}'s workspace`)
    const team = await json('POST', '/v1/workspaces', { name: EXACT })
    expect(team.name).toBe(EXACT)
    expect((await json('GET', `/v1/workspaces/${team.id}`)).name).toBe(EXACT)
    await json('PATCH', `/v1/workspaces/${team.id}`, { name: EXACT_2 })
    expect((await json('GET', `/v1/workspaces/${team.id}`)).name).toBe(EXACT_2)

    // API keys.
    const key = await json('POST', '/v1/api-keys', { name: EXACT })
    expect(key.name).toBe(EXACT)
    expect((await json('GET', '/v1/api-keys')).data.find((k: { id: string }) => k.id === key.id).name).toBe(EXACT)

    // Conversations: title, system prompt, metadata keys and values (nested too).
    const metadata = { [EXACT]: EXACT, nested: { list: [EXACT, { [EXACT_2]: EXACT_2 }] } }
    const conversation = await json('POST', '/v1/conversations', { title: EXACT, systemPrompt: EXACT, metadata })
    expect(conversation).toMatchObject({ title: EXACT, systemPrompt: EXACT, metadata })
    const read = await json('GET', `/v1/conversations/${conversation.id}`)
    expect(read).toMatchObject({ title: EXACT, systemPrompt: EXACT, metadata })
    expect(read.metadata).toEqual(metadata)
    await json('PATCH', `/v1/conversations/${conversation.id}`, { title: EXACT_2, metadata: { [EXACT_2]: [EXACT] } })
    expect(await json('GET', `/v1/conversations/${conversation.id}`)).toMatchObject({ title: EXACT_2, metadata: { [EXACT_2]: [EXACT] } })

    // Message text (as a string and as parts), a document's name, and feedback.
    const turn = await json('POST', `/v1/conversations/${conversation.id}/messages`, { content: EXACT, stream: false })
    expect(turn.userMessage.parts).toEqual([{ type: 'text', text: EXACT }])
    const parts = [
      { type: 'text', text: EXACT_2 },
      { type: 'document', format: 'txt', name: EXACT, data: base64('notes') },
    ]
    const second = await json('POST', `/v1/conversations/${conversation.id}/messages`, { content: parts, stream: false })
    await json('PUT', `/v1/messages/${second.assistantMessage.id}/feedback`, { rating: 'up', comment: EXACT })
    const messages = (await json('GET', `/v1/conversations/${conversation.id}/messages`)).data
    const byId = (id: string) => messages.find((message: { id: string }) => message.id === id)
    expect(byId(turn.userMessage.id).parts).toEqual([{ type: 'text', text: EXACT }])
    expect(byId(second.userMessage.id).parts).toEqual(parts)
    expect(byId(second.assistantMessage.id).feedback).toEqual({ rating: 'up', comment: EXACT })

    const exported = await json('GET', `/v1/conversations/${conversation.id}/export?format=json`)
    expect(exported.conversation).toMatchObject({ title: EXACT_2, systemPrompt: EXACT })
    expect(exported.messages.find((message: { id: string }) => message.id === turn.userMessage.id).parts[0].text).toBe(EXACT)
  })

  it('stores NUL text whole in the database, and finds it again by equality', async () => {
    const user = await t.register()
    await user.call('PATCH', `/v1/workspaces/${user.workspace.id}`, { body: { name: EXACT } })
    const row = (await t.client.execute({ sql: 'select name, length(cast(name as blob)) as bytes from workspaces where name = ?', args: [EXACT] })).rows[0]
    expect(row?.name).toBe(EXACT)
    expect(row?.bytes).toBe(new TextEncoder().encode(EXACT).length)
  })

  it('refuses a lone surrogate (UTF-8 cannot hold it) with a 400 naming the field', async () => {
    const register = await t.request('POST', '/v1/auth/register', { body: { email: 'lone@example.com', password: 'correct horse battery', name: LONE_SURROGATE } })
    const problem = await expectProblem(register, 400, 'validation_failed')
    expect(problem.errors).toEqual([{ path: 'name', message: expect.stringMatching(/surrogate/) }])

    const user = await t.register()
    const cases: { method: string; path: string; body: unknown; field: string }[] = [
      { method: 'POST', path: '/v1/conversations', body: { title: LONE_SURROGATE }, field: 'title' },
      { method: 'POST', path: '/v1/conversations', body: { metadata: { tag: ['ok', { deep: LONE_SURROGATE }] } }, field: 'metadata.tag.1.deep' },
      { method: 'POST', path: '/v1/conversations', body: { metadata: { [LONE_SURROGATE]: 1 } }, field: `metadata.${LONE_SURROGATE}` },
      { method: 'POST', path: '/v1/api-keys', body: { name: '\uDC00' }, field: 'name' },
      { method: 'POST', path: '/v1/workspaces', body: { name: `${'x'.repeat(10)}\uD83D` }, field: 'name' },
    ]
    for (const { method, path, body, field } of cases) {
      const failed = await expectProblem(await user.call(method, path, { body }), 400, 'validation_failed')
      expect(failed.errors, `${method} ${path} ${field}`).toEqual([{ path: field, message: expect.stringMatching(/surrogate/) }])
    }
    const { id } = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const turn = await user.call('POST', `/v1/conversations/${id}/messages`, { body: { content: [{ type: 'text', text: LONE_SURROGATE }], stream: false } })
    expect((await expectProblem(turn, 400, 'validation_failed')).errors).toEqual([{ path: 'content.0.text', message: expect.stringMatching(/surrogate/) }])
    // Nothing was stored: the conversation has no message.
    expect((await (await user.call('GET', `/v1/conversations/${id}/messages`)).json()).data).toEqual([])
    // A surrogate pair is one character, and fine.
    expect((await user.call('POST', '/v1/api-keys', { body: { name: '\uD83D\uDE00' } })).status).toBe(201)
  })

  it('refuses whitespace-only names and titles, naming the field, and keeps whitespace around other text', async () => {
    const user = await t.register()
    for (const name of [' ', '\u2028', '\uFEFF \t']) {
      const failed = await expectProblem(await user.call('POST', '/v1/workspaces', { body: { name } }), 400, 'validation_failed')
      expect(failed.errors).toEqual([{ path: 'name', message: expect.any(String) }])
    }
    const created = await (await user.call('POST', '/v1/conversations', { body: { title: '  padded  ' } })).json()
    expect(created.title).toBe('  padded  ')
  })
})

describe('free-form JSON is bounded in depth', () => {
  it('refuses deeply nested metadata with a 400, not a 500', async () => {
    const user = await t.register()
    const deep = `{"tree": ${nestedJson(5_000)}}`
    expect(deep.length).toBeLessThan(16_384)
    const created = await expectProblem(await user.call('POST', '/v1/conversations', { body: `{"metadata": ${deep}}` }), 400, 'validation_failed')
    expect(created.errors).toEqual([{ path: 'metadata', message: expect.stringMatching(/64 levels/) }])
    const { id } = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    await expectProblem(await user.call('PATCH', `/v1/conversations/${id}`, { body: `{"metadata": ${deep}}` }), 400, 'validation_failed')
    // Within the limit it is stored and read back.
    const fine = { tree: JSON.parse(nestedJson(60)) as unknown }
    const ok = await user.call('PATCH', `/v1/conversations/${id}`, { body: { metadata: fine } })
    expect(ok.status, await ok.clone().text()).toBe(200)
    expect((await (await user.call('GET', `/v1/conversations/${id}`)).json()).metadata).toEqual(fine)
  })

  it('refuses deep nesting anywhere in a JSON body (a tool input in a turn), without a stack overflow', async () => {
    const user = await t.register()
    const { id } = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    for (const depth of [100, 100_000]) {
      const body = `{"content": [{"type": "tool_call", "toolUseId": "t1", "name": "x", "input": ${nestedJson(depth)}}], "stream": false}`
      const failed = await expectProblem(await user.call('POST', `/v1/conversations/${id}/messages`, { body }), 400, 'validation_failed')
      expect(failed.errors).toEqual([{ path: 'content', message: expect.stringMatching(/64 levels/) }])
    }
  })
})
