import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, type TestApp } from '../helpers'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

type User = Awaited<ReturnType<TestApp['register']>>

const create = async (user: User, body: Record<string, unknown> = {}) => {
  const res = await user.call('POST', '/v1/conversations', { body })
  if (res.status !== 201) throw new Error(`create failed ${res.status} ${await res.text()}`)
  return res.json()
}
const say = async (user: User, id: string, content: string) => {
  const res = await user.call('POST', `/v1/conversations/${id}/messages`, { body: { content, stream: false } })
  if (res.status !== 201) throw new Error(`turn failed ${res.status} ${await res.text()}`)
  return res.json()
}

async function team() {
  const owner = await t.register('owner')
  const workspace = await (await owner.call('POST', '/v1/workspaces', { body: { name: 'Team' } })).json()
  const add = async (role: string) => {
    const user = await t.register(role)
    const invitation = await (await owner.call('POST', `/v1/workspaces/${workspace.id}/members`, { body: { email: user.email, role } })).json()
    await user.call('POST', `/v1/me/invitations/${invitation.id}/accept`)
    return user
  }
  return { owner, workspace, member: await add('member'), viewer: await add('viewer'), admin: await add('admin') }
}

describe('conversations', () => {
  it('creates in the personal workspace by default with the full shape', async () => {
    const user = await t.register()
    const conv = await create(user, { title: 'Plans', systemPrompt: 'You plan.', metadata: { source: 'test' } })
    expect(conv).toEqual({
      id: expect.stringMatching(/^conv_/),
      workspaceId: user.workspace.id,
      userId: user.user.id,
      assistantId: null,
      title: 'Plans',
      modelId: null,
      systemPrompt: 'You plan.',
      visibility: 'private',
      archived: false,
      activeGenerationId: null,
      currentLeafId: null,
      metadata: { source: 'test' },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    })
    expect(await (await user.call('GET', `/v1/conversations/${conv.id}`)).json()).toEqual(conv)
  })

  it('rejects bad bodies and unknown references', async () => {
    const user = await t.register()
    for (const body of [{ visibility: 'public' }, { title: 7 }, { metadata: 'x' }, { metadata: { big: 'x'.repeat(17_000) } }, { systemPrompt: 'x'.repeat(100_001) }]) {
      await expectProblem(await user.call('POST', '/v1/conversations', { body }), 400, 'validation_failed')
    }
    await expectProblem(await user.call('POST', '/v1/conversations', { body: { assistantId: 'ast_nope' } }), 404, 'not_found')
    await expectProblem(await user.call('POST', '/v1/conversations', { body: { workspaceId: 'ws_nope' } }), 404, 'not_found')
  })

  it('lists newest activity first with stable keyset pagination, q search and the archived filter', async () => {
    const user = await t.register()
    const a = await create(user, { title: 'Alpha notes' })
    const b = await create(user, { title: 'Beta' })
    const c = await create(user, { title: 'Gamma' })
    await say(user, a.id, 'the quokka question')
    const page1 = await (await user.call('GET', '/v1/conversations?limit=2')).json()
    expect(page1.data.map((x: { id: string }) => x.id)).toEqual([a.id, c.id])
    await create(user, { title: 'Delta, inserted between pages' })
    const page2 = await (await user.call('GET', `/v1/conversations?limit=2&cursor=${page1.nextCursor}`)).json()
    expect(page2.data.map((x: { id: string }) => x.id)).toEqual([b.id])
    expect(page2.nextCursor).toBeNull()

    const byText = await (await user.call('GET', '/v1/conversations?q=QUOKKA')).json()
    expect(byText.data.map((x: { id: string }) => x.id)).toEqual([a.id])
    const byTitle = await (await user.call('GET', '/v1/conversations?q=beta')).json()
    expect(byTitle.data.map((x: { id: string }) => x.id)).toEqual([b.id])
    for (const q of ['%', '_', "'; drop table conversations; --", 'text']) {
      expect((await (await user.call('GET', `/v1/conversations?q=${encodeURIComponent(q)}`)).json()).data).toEqual([])
    }

    await user.call('PATCH', `/v1/conversations/${b.id}`, { body: { archived: true } })
    const active = await (await user.call('GET', '/v1/conversations')).json()
    expect(active.data.map((x: { id: string }) => x.id)).not.toContain(b.id)
    const archived = await (await user.call('GET', '/v1/conversations?archived=true')).json()
    expect(archived.data.map((x: { id: string }) => x.id)).toEqual([b.id])
    await expectProblem(await user.call('GET', '/v1/conversations?cursor=garbage'), 400, 'validation_failed')
    await expectProblem(await user.call('GET', '/v1/conversations?archived=maybe'), 400, 'validation_failed')
  })

  it('patches, exports as JSON and Markdown, and deletes with its messages', async () => {
    const user = await t.register()
    const conv = await create(user)
    const { assistantMessage } = await say(user, conv.id, 'Tell me a *fact*')
    const patched = await (await user.call('PATCH', `/v1/conversations/${conv.id}`, { body: { title: 'Facts', metadata: { k: 1 } } })).json()
    expect(patched).toMatchObject({ title: 'Facts', metadata: { k: 1 } })

    const json = await user.call('GET', `/v1/conversations/${conv.id}/export`)
    expect(json.headers.get('content-disposition')).toContain(`${conv.id}.json`)
    const exported = await json.json()
    expect(exported.conversation.title).toBe('Facts')
    expect(exported.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant'])

    const md = await user.call('GET', `/v1/conversations/${conv.id}/export?format=markdown`)
    expect(md.headers.get('content-type')).toContain('text/markdown')
    const text = await md.text()
    expect(text).toContain('# Facts')
    expect(text).toContain('## User\n\nTell me a *fact*')
    expect(text).toContain(`## Assistant\n\n${assistantMessage.parts[0].text}`)
    await expectProblem(await user.call('GET', `/v1/conversations/${conv.id}/export?format=pdf`), 400, 'validation_failed')

    expect((await user.call('DELETE', `/v1/conversations/${conv.id}`)).status).toBe(204)
    await expectProblem(await user.call('GET', `/v1/conversations/${conv.id}`), 404, 'not_found')
    const left = await t.client.execute({ sql: 'select count(*) as n from messages where conversation_id = ?', args: [conv.id] })
    expect(Number(left.rows[0]!.n)).toBe(0)
  })

  it('paginates messages oldest first', async () => {
    const user = await t.register()
    const conv = await create(user)
    for (const text of ['one', 'two', 'three']) await say(user, conv.id, text)
    const page = await (await user.call('GET', `/v1/conversations/${conv.id}/messages?limit=4`)).json()
    expect(page.data.filter((m: { role: string }) => m.role === 'user').map((m: { parts: { text: string }[] }) => m.parts[0]!.text)).toEqual(['one', 'two'])
    const rest = await (await user.call('GET', `/v1/conversations/${conv.id}/messages?limit=4&cursor=${page.nextCursor}`)).json()
    expect(rest.data).toHaveLength(2)
    expect(rest.nextCursor).toBeNull()
  })

  it('takes feedback on assistant messages', async () => {
    const user = await t.register()
    const conv = await create(user)
    const { userMessage, assistantMessage } = await say(user, conv.id, 'rate me')
    const rated = await (await user.call('PUT', `/v1/messages/${assistantMessage.id}/feedback`, { body: { rating: 'down', comment: 'too short' } })).json()
    expect(rated.feedback).toEqual({ rating: 'down', comment: 'too short' })
    expect((await user.call('PUT', `/v1/messages/${assistantMessage.id}/feedback`, { body: { rating: 'up' } })).status).toBe(200)
    const [, stored] = (await (await user.call('GET', `/v1/conversations/${conv.id}/messages`)).json()).data
    expect(stored.feedback).toEqual({ rating: 'up', comment: null })
    expect((await user.call('DELETE', `/v1/messages/${assistantMessage.id}/feedback`)).status).toBe(204)
    await expectProblem(await user.call('PUT', `/v1/messages/${userMessage.id}/feedback`, { body: { rating: 'up' } }), 400, 'validation_failed')
    await expectProblem(await user.call('PUT', `/v1/messages/${assistantMessage.id}/feedback`, { body: { rating: 'meh' } }), 400, 'validation_failed')
    await expectProblem(await user.call('PUT', '/v1/messages/msg_nope/feedback', { body: { rating: 'up' } }), 404, 'not_found')
  })
})

describe('conversation access', () => {
  it('hides private conversations from everyone else, including workspace members (404)', async () => {
    const { owner, workspace, member } = await team()
    const outsider = await t.register()
    const conv = await create(owner, { workspaceId: workspace.id })
    const { assistantMessage } = await say(owner, conv.id, 'secret')
    for (const user of [member, outsider]) {
      await expectProblem(await user.call('GET', `/v1/conversations/${conv.id}`), 404, 'not_found')
      await expectProblem(await user.call('GET', `/v1/conversations/${conv.id}/messages`), 404, 'not_found')
      await expectProblem(await user.call('GET', `/v1/conversations/${conv.id}/export`), 404, 'not_found')
      await expectProblem(await user.call('GET', `/v1/conversations/${conv.id}/stream`), 404, 'not_found')
      await expectProblem(await user.call('PATCH', `/v1/conversations/${conv.id}`, { body: { title: 'x' } }), 404, 'not_found')
      await expectProblem(await user.call('DELETE', `/v1/conversations/${conv.id}`), 404, 'not_found')
      await expectProblem(await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'hi' } }), 404, 'not_found')
      await expectProblem(await user.call('PUT', `/v1/messages/${assistantMessage.id}/feedback`, { body: { rating: 'up' } }), 404, 'not_found')
      expect((await (await user.call('GET', '/v1/conversations')).json()).data.map((c: { id: string }) => c.id)).not.toContain(conv.id)
    }
    expect((await (await owner.call('GET', `/v1/conversations/${conv.id}/export`)).json()).messages).toHaveLength(2)
  })

  it('shares workspace conversations for reading: only the creator posts, members rate, creator or admins manage', async () => {
    const { owner, workspace, member, viewer, admin } = await team()
    const conv = await create(owner, { workspaceId: workspace.id, visibility: 'workspace' })
    for (const user of [member, viewer, admin]) {
      expect((await user.call('GET', `/v1/conversations/${conv.id}`)).status).toBe(200)
      expect((await (await user.call('GET', '/v1/conversations')).json()).data.map((c: { id: string }) => c.id)).toContain(conv.id)
    }
    await expectProblem(await viewer.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'hi' } }), 403, 'forbidden')
    await expectProblem(await viewer.call('POST', '/v1/conversations', { body: { workspaceId: workspace.id } }), 403, 'forbidden')
    for (const other of [member, admin]) {
      const refused = await expectProblem(await other.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'not mine' } }), 403, 'forbidden')
      expect(refused.detail).toBe('Only the creator of a shared conversation can post to it')
    }
    const { assistantMessage } = await say(owner, conv.id, 'owner turn')
    expect(assistantMessage).toMatchObject({ userId: owner.user.id, apiKeyId: null, feedback: null, feedbackCounts: { up: 0, down: 0 } })

    // Feedback is per user: each member's own rating, everyone's counts; nobody overwrites another's.
    const rate = (user: typeof owner, rating: string, comment?: string) =>
      user.call('PUT', `/v1/messages/${assistantMessage.id}/feedback`, { body: { rating, ...(comment === undefined ? {} : { comment }) } })
    expect(await (await rate(owner, 'up', 'great')).json()).toMatchObject({ feedback: { rating: 'up', comment: 'great' }, feedbackCounts: { up: 1, down: 0 } })
    expect(await (await rate(member, 'down', '')).json()).toMatchObject({ feedback: { rating: 'down', comment: '' }, feedbackCounts: { up: 1, down: 1 } })
    expect(await (await rate(admin, 'down')).json()).toMatchObject({ feedback: { rating: 'down', comment: null }, feedbackCounts: { up: 1, down: 2 } })
    await expectProblem(await rate(viewer, 'up'), 403, 'forbidden')
    const seenBy = async (user: typeof owner) => (await (await user.call('GET', `/v1/conversations/${conv.id}/messages`)).json()).data[1]
    expect(await seenBy(owner)).toMatchObject({ feedback: { rating: 'up', comment: 'great' }, feedbackCounts: { up: 1, down: 2 } })
    expect(await seenBy(viewer)).toMatchObject({ feedback: null, feedbackCounts: { up: 1, down: 2 } })
    expect((await member.call('DELETE', `/v1/messages/${assistantMessage.id}/feedback`)).status).toBe(204)
    expect(await seenBy(owner)).toMatchObject({ feedback: { rating: 'up', comment: 'great' }, feedbackCounts: { up: 1, down: 1 } })
    const exported = await (await member.call('GET', `/v1/conversations/${conv.id}/export`)).json()
    expect(exported.messages[1]).toMatchObject({ feedback: null, feedbackCounts: { up: 1, down: 1 } })

    // Cancelling someone else's generation is managing it: the creator or an admin.
    const { key } = await (await owner.call('POST', '/v1/api-keys', { body: { name: 'bot' } })).json()
    const running = await t.request('POST', `/v1/conversations/${conv.id}/messages`, { token: key, body: { content: 'long [[emulator tokens=200 delay=20]]' } })
    const reader = running.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    const generationId = /"generationId":"(gen_[^"]+)"/.exec(first)![1]!
    const userMessageId = /"userMessageId":"(msg_[^"]+)"/.exec(first)![1]!
    await expectProblem(await member.call('POST', `/v1/generations/${generationId}/cancel`), 403, 'forbidden')
    expect((await admin.call('POST', `/v1/generations/${generationId}/cancel`)).status).toBe(202)
    while (!(await reader.read()).done);
    const sent = (await (await owner.call('GET', `/v1/conversations/${conv.id}/messages`)).json()).data.find((m: { id: string }) => m.id === userMessageId)
    expect(sent).toMatchObject({ userId: owner.user.id, apiKeyId: expect.stringMatching(/^key_/) })

    await expectProblem(await member.call('PATCH', `/v1/conversations/${conv.id}`, { body: { title: 'mine now' } }), 403, 'forbidden')
    await expectProblem(await member.call('DELETE', `/v1/conversations/${conv.id}`), 403, 'forbidden')
    expect((await admin.call('PATCH', `/v1/conversations/${conv.id}`, { body: { title: 'admin rename' } })).status).toBe(200)

    // Making it private again hides it from the others.
    expect((await owner.call('PATCH', `/v1/conversations/${conv.id}`, { body: { visibility: 'private' } })).status).toBe(200)
    await expectProblem(await member.call('GET', `/v1/conversations/${conv.id}`), 404, 'not_found')
  })

  it('scopes API keys to their workspace', async () => {
    const user = await t.register()
    const other = await (await user.call('POST', '/v1/workspaces', { body: { name: 'Other' } })).json()
    const elsewhere = await create(user, { workspaceId: other.id })
    const { key } = await (await user.call('POST', '/v1/api-keys', { body: { name: 'scoped', workspaceId: user.workspace.id } })).json()
    await expectProblem(await t.request('GET', `/v1/conversations/${elsewhere.id}`, { token: key }), 404, 'not_found')
    const mine = await (await t.request('POST', '/v1/conversations', { token: key, body: {} })).json()
    expect(mine.workspaceId).toBe(user.workspace.id)
    const listed = await (await t.request('GET', '/v1/conversations', { token: key })).json()
    expect(listed.data.map((c: { id: string }) => c.id)).toEqual([mine.id])
  })
})
