import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from '../helpers'
import { createHttpTestApp, type HttpTestApp, type HttpUser } from './http-app'

let t: HttpTestApp
beforeAll(async () => {
  t = await createHttpTestApp()
})
afterAll(() => t.close())

const json = async (res: Response, status = 200) => {
  const text = await res.text()
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`)
  return JSON.parse(text)
}
const conversation = async (user: HttpUser, body: Record<string, unknown> = {}) => json(await user.call('POST', '/v1/conversations', { body }), 201)
const say = async (user: HttpUser, id: string, content: string) =>
  json(await user.call('POST', `/v1/conversations/${id}/messages`, { body: { content, stream: false } }), 201)

interface Hit {
  conversationId: string
  messageId?: string
  snippet: string
  rank: number
}
const search = async (user: HttpUser, q: string, extra = ''): Promise<Hit[]> =>
  (await json(await user.call('GET', `/v1/search?q=${encodeURIComponent(q)}&limit=100${extra}`))).data
const listed = async (user: HttpUser, q: string): Promise<string[]> =>
  (await json(await user.call('GET', `/v1/conversations?q=${encodeURIComponent(q)}&limit=100`))).data.map((c: { id: string }) => c.id)

async function team() {
  const owner = await t.register('owner')
  const workspace = await json(await owner.call('POST', '/v1/workspaces', { body: { name: 'Team' } }), 201)
  const add = async (role: string) => {
    const user = await t.register(role)
    const invitation = await json(await owner.call('POST', `/v1/workspaces/${workspace.id}/members`, { body: { email: user.email, role } }), 202)
    await json(await user.call('POST', `/v1/me/invitations/${invitation.id}/accept`))
    return user
  }
  return { owner, workspace, member: await add('member') }
}

describe('full-text search', () => {
  it('finds titles and message text, with snippets and rank, ignoring case and diacritics', async () => {
    const user = await t.register()
    const titled = await conversation(user, { title: 'Crème brûlée recipes' })
    const talk = await conversation(user)
    const turn = await say(user, talk.id, 'The zanzibar archipelago lies off the coast; a zanzibar trip needs planning.')
    const byTitle = await search(user, 'creme BRULEE')
    expect(byTitle).toEqual([{ conversationId: titled.id, snippet: 'Crème brûlée recipes', rank: expect.any(Number) }])
    // The untitled conversation took the first message's words as its title: a title hit too.
    const all = await search(user, 'Zanzibar')
    expect(all.filter((hit) => !hit.messageId)).toEqual([{ conversationId: talk.id, snippet: expect.stringContaining('zanzibar'), rank: expect.any(Number) }])
    const hits = all.filter((hit) => hit.messageId)
    // The user's message and the emulator's answer (it echoes the question).
    expect(hits.map((hit) => hit.messageId).sort()).toEqual([turn.userMessage.id, turn.assistantMessage.id].sort())
    expect(hits.every((hit) => hit.conversationId === talk.id && hit.snippet.includes('zanzibar'))).toBe(true)
    expect(hits[0]!.rank).toBeLessThanOrEqual(hits[1]!.rank)
    // The last word is a prefix: search as you type.
    expect((await search(user, 'archipel')).length).toBe(3)
    expect(await search(user, 'archipel coastline')).toEqual([])
    expect(await listed(user, 'zanzib')).toEqual([talk.id])
    expect(await listed(user, 'brulee')).toEqual([titled.id])
  })

  it('takes hostile queries literally: quotes, *, NEAR, -, parentheses, unbalanced quotes, emoji, NUL', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    await say(user, conv.id, 'She said "near zero" - (maybe) * 50% off 🎉 for NOT AND OR the party')
    const hostile = [
      '"near zero"',
      'near*',
      'NEAR(she said)',
      'NEAR/2',
      '-maybe',
      '(maybe)',
      '"unbalanced',
      'unbalanced"',
      '""""',
      'AND',
      'OR party',
      'NOT party',
      '🎉',
      'party 🎉',
      '*',
      '-',
      '(',
      ')',
      '"',
      '^she',
      'she:said',
      'body:party',
      '{body}: party',
      '\u0000party',
      'party\u0000',
      '50%',
      "'; drop table messages; --",
    ]
    for (const q of hostile) {
      for (const path of [`/v1/search?q=${encodeURIComponent(q)}`, `/v1/conversations?q=${encodeURIComponent(q)}`]) {
        const res = await user.call('GET', path)
        expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200)
      }
    }
    const find = async (q: string) => (await search(user, q)).length > 0
    for (const q of ['"near zero"', 'NEAR', '-maybe', '(maybe)', '"near zero', 'said"', 'NOT party', 'AND', 'OR party', '🎉', 'party 🎉', '50%', '^she'])
      expect(await find(q), q).toBe(true)
    for (const q of ['*', '-', '(', '"', '""""', 'drop table', 'body:party', 'missingword', '🎈']) expect(await find(q), q).toBe(false)
  })

  it('answers validation errors as problems', async () => {
    const user = await t.register()
    await expectProblem(await user.call('GET', '/v1/search'), 400, 'validation_failed')
    await expectProblem(await user.call('GET', '/v1/search?q='), 400, 'validation_failed')
    await expectProblem(await user.call('GET', `/v1/search?q=${'x'.repeat(201)}`), 400, 'validation_failed')
    await expectProblem(await user.call('GET', '/v1/search?q=x&cursor=nope'), 400, 'validation_failed')
    await expectProblem(await user.call('GET', '/v1/search?q=x&workspaceId=ws_nope'), 404, 'not_found')
    await expectProblem(await t.request('GET', '/v1/search?q=x'), 401, 'unauthorized')
  })

  it("never shows another user's or a private conversation", async () => {
    const { owner, workspace, member } = await team()
    const outsider = await t.register('outsider')
    const secret = await conversation(owner, { workspaceId: workspace.id, title: 'Okapi secret' })
    await say(owner, secret.id, 'the okapi plan, private')
    const shared = await conversation(owner, { workspaceId: workspace.id, visibility: 'workspace', title: 'Okapi shared' })
    await say(owner, shared.id, 'the okapi plan, shared')
    const personal = await conversation(owner, { title: 'Okapi personal' })

    const ids = (hits: Hit[]) => [...new Set(hits.map((hit) => hit.conversationId))].sort()
    expect(ids(await search(owner, 'okapi'))).toEqual([secret.id, shared.id, personal.id].sort())
    expect(ids(await search(member, 'okapi'))).toEqual([shared.id])
    expect(await listed(member, 'okapi')).toEqual([shared.id])
    expect(await search(outsider, 'okapi')).toEqual([])
    expect(await listed(outsider, 'okapi')).toEqual([])
    expect(ids(await search(owner, 'okapi', `&workspaceId=${workspace.id}`))).toEqual([secret.id, shared.id].sort())
    await expectProblem(await outsider.call('GET', `/v1/search?q=okapi&workspaceId=${workspace.id}`), 404, 'not_found')

    // An API key scoped to the workspace sees nothing outside it.
    const key = await json(await owner.call('POST', '/v1/api-keys', { body: { name: 'scoped', workspaceId: workspace.id } }), 201)
    const scoped = await json(await t.request('GET', '/v1/search?q=okapi&limit=100', { token: key.key }))
    expect(ids(scoped.data)).toEqual([secret.id, shared.id].sort())

    // Made private, it disappears for the member; deleted, for everyone.
    await json(await owner.call('PATCH', `/v1/conversations/${shared.id}`, { body: { visibility: 'private' } }))
    expect(await search(member, 'okapi')).toEqual([])
    await owner.call('DELETE', `/v1/conversations/${secret.id}`)
    expect(ids(await search(owner, 'okapi'))).toEqual([shared.id, personal.id].sort())
  })

  it('follows renames and deletions, and indexes an answer once it is final', async () => {
    const user = await t.register()
    const conv = await conversation(user, { title: 'Capybara' })
    expect(await search(user, 'capybara')).toHaveLength(1)
    await json(await user.call('PATCH', `/v1/conversations/${conv.id}`, { body: { title: 'Wombat' } }))
    expect(await search(user, 'capybara')).toEqual([])
    expect(await search(user, 'wombat')).toHaveLength(1)
    await json(await user.call('PATCH', `/v1/conversations/${conv.id}`, { body: { title: null } }))
    expect(await search(user, 'wombat')).toEqual([])

    const streaming = await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: '[[emulator delay=50]] narwhal' } })
    const reader = streaming.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    const assistantMessageId = /"assistantMessageId":"(msg_[^"]+)"/.exec(first)![1]!
    // One snapshot of the answer's status and its index entries: indexed exactly when it is no longer streaming.
    const snapshot = await t.client.execute({
      sql: 'SELECT status, (SELECT count(*) FROM search_documents WHERE message_id = messages.id) AS indexed FROM messages WHERE id = ?',
      args: [assistantMessageId],
    })
    expect(Number(snapshot.rows[0]!.indexed)).toBe(snapshot.rows[0]!.status === 'streaming' ? 0 : 1)
    while (!(await reader.read()).done);
    expect((await search(user, 'narwhal')).filter((hit) => hit.messageId).map((hit) => hit.messageId)).toContain(assistantMessageId)

    await user.call('DELETE', `/v1/conversations/${conv.id}`)
    expect(await search(user, 'narwhal')).toEqual([])
    const leftovers = await t.client.execute({ sql: 'SELECT count(*) AS n FROM search_documents WHERE conversation_id = ?', args: [conv.id] })
    expect(Number(leftovers.rows[0]!.n)).toBe(0)
  })

  it('pages hits with a stable cursor, and searches every stored message', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const now = Date.now()
    const count = 6_000
    const statements = Array.from({ length: count }, (_, i) => ({
      sql: `INSERT INTO messages (id, conversation_id, parent_id, role, parts, status, created_at, updated_at) VALUES (?, ?, NULL, 'user', ?, 'complete', ?, ?)`,
      args: [`msg_zz${conv.id.slice(-6)}${String(i).padStart(6, '0')}`, conv.id, JSON.stringify([{ type: 'text', text: i % 100 === 0 ? `marmot ${i}` : `hay ${i}` }]), now, now],
    }))
    for (let start = 0; start < count; start += 1_000) await t.client.batch(statements.slice(start, start + 1_000), 'write')
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { data: Hit[]; nextCursor: string | null } = await json(await user.call('GET', `/v1/search?q=marmot&limit=7${cursor ? `&cursor=${cursor}` : ''}`))
      seen.push(...page.data.map((hit) => hit.messageId!))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toHaveLength(count / 100)
    expect(new Set(seen).size).toBe(count / 100)
    // The oldest message is found as well as the newest (no scan window).
    expect(await listed(user, 'marmot')).toEqual([conv.id])
    expect((await search(user, 'marmot 0')).map((hit) => hit.snippet)).toContain('marmot 0')
  })
})
