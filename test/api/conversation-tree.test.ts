import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectProblem } from '../helpers'
import { createHttpTestApp, type HttpTestApp, type HttpUser } from './http-app'

let t: HttpTestApp
beforeAll(async () => {
  t = await createHttpTestApp()
})
afterAll(() => t.close())

const json = async (res: Response, status: number) => {
  const text = await res.text()
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`)
  return JSON.parse(text)
}
const conversation = async (user: HttpUser, body: Record<string, unknown> = {}) => json(await user.call('POST', '/v1/conversations', { body }), 201)
const say = async (user: HttpUser, id: string, content: string, extra: Record<string, unknown> = {}) =>
  json(await user.call('POST', `/v1/conversations/${id}/messages`, { body: { content, stream: false, ...extra } }), 201)
/** A user message's text; an assistant message's as the emulator echoes it ('You said: "…". …'). */
const textOf = (message: { parts: { type: string; text?: string }[] }) => {
  const text = message.parts.map((part) => part.text ?? '').join('')
  return /^You said: "(.*)"\. This is the Bedrock emulator\.$/s.exec(text)?.[1] ?? text
}
const branch = async (user: HttpUser, id: string, which = 'current') =>
  (await json(await user.call('GET', `/v1/conversations/${id}/messages?branch=${which}&limit=100`), 200)).data as {
    id: string
    parentId: string | null
    role: string
    siblingIds: string[]
    parts: { type: string; text?: string }[]
  }[]
const get = async (user: HttpUser, id: string) => json(await user.call('GET', `/v1/conversations/${id}`), 200)

describe('the conversation tree', () => {
  it('edits, regenerates, switches branches and continues the branch shown', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    expect(conv.currentLeafId).toBeNull()
    const first = await say(user, conv.id, 'alpha')
    const second = await say(user, conv.id, 'beta')
    expect(second.userMessage.parentId).toBe(first.assistantMessage.id)
    expect((await get(user, conv.id)).currentLeafId).toBe(second.assistantMessage.id)

    // Edit the second user message: a new turn with its parentId. The old branch stays.
    const edited = await say(user, conv.id, 'gamma', { parentId: second.userMessage.parentId })
    expect(edited.userMessage.parentId).toBe(first.assistantMessage.id)
    expect((await get(user, conv.id)).currentLeafId).toBe(edited.assistantMessage.id)
    let shown = await branch(user, conv.id)
    expect(shown.map(textOf)).toEqual(['alpha', 'alpha', 'gamma', 'gamma'])
    expect(shown[2]!.siblingIds).toEqual([second.userMessage.id, edited.userMessage.id])
    expect(shown[0]!.siblingIds).toEqual([first.userMessage.id])

    // Regenerate the edited answer: a sibling answer, the old one kept.
    const regenerated = await json(await t.request('POST', `/v1/messages/${edited.assistantMessage.id}/regenerate`, { token: user.accessToken, body: { stream: false } }), 201)
    expect(regenerated.userMessage.id).toBe(edited.userMessage.id)
    expect(regenerated.assistantMessage.parentId).toBe(edited.userMessage.id)
    expect(regenerated.assistantMessage.id).not.toBe(edited.assistantMessage.id)
    shown = await branch(user, conv.id)
    expect(shown.at(-1)!.id).toBe(regenerated.assistantMessage.id)
    expect(shown.at(-1)!.siblingIds).toEqual([edited.assistantMessage.id, regenerated.assistantMessage.id])

    // The whole tree: every message, oldest first.
    const all = await branch(user, conv.id, 'all')
    expect(all).toHaveLength(7)

    // Switch back to the first branch through its user message: the leaf becomes the newest message under it.
    const switched = await json(await user.call('PATCH', `/v1/conversations/${conv.id}`, { body: { currentLeafId: second.userMessage.id } }), 200)
    expect(switched.currentLeafId).toBe(second.assistantMessage.id)
    expect((await branch(user, conv.id)).map(textOf)).toEqual(['alpha', 'alpha', 'beta', 'beta'])

    // A turn without parentId continues the branch shown, and the model sees that branch only.
    const next = await say(user, conv.id, '[[emulator tokens=3]] delta')
    expect(next.userMessage.parentId).toBe(second.assistantMessage.id)
    expect((await branch(user, conv.id)).map((message) => message.id)).toEqual([
      first.userMessage.id,
      first.assistantMessage.id,
      second.userMessage.id,
      second.assistantMessage.id,
      next.userMessage.id,
      next.assistantMessage.id,
    ])
    const onOther = await say(user, conv.id, 'epsilon', { parentId: regenerated.assistantMessage.id })
    expect(onOther.userMessage.parentId).toBe(regenerated.assistantMessage.id)
    expect((await branch(user, conv.id)).map(textOf)).toEqual(['alpha', 'alpha', 'gamma', 'gamma', 'epsilon', 'epsilon'])
  })

  it('sends the model the chain to the chosen parent only', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const long = await say(user, conv.id, 'long '.repeat(2_000))
    const short = await say(user, conv.id, 'short', { parentId: null })
    const onShort = await say(user, conv.id, 'next')
    expect(onShort.userMessage.parentId).toBe(short.assistantMessage.id)
    const onLong = await say(user, conv.id, 'next', { parentId: long.assistantMessage.id })
    // The emulator counts the input tokens of the request it received.
    expect(onShort.assistantMessage.usage.inputTokens).toBeLessThan(200)
    expect(onLong.assistantMessage.usage.inputTokens).toBeGreaterThan(2_000)
  })

  it('edits the first message as a new root (parentId null)', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const first = await say(user, conv.id, 'one')
    const root = await say(user, conv.id, 'uno', { parentId: null })
    expect(root.userMessage.parentId).toBeNull()
    const shown = await branch(user, conv.id)
    expect(shown.map(textOf)).toEqual(['uno', 'uno'])
    expect(shown[0]!.siblingIds).toEqual([first.userMessage.id, root.userMessage.id])
  })

  it('regenerates as a stream, with one generation at a time', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const first = await say(user, conv.id, 'stream me')
    const res = await user.call('POST', `/v1/messages/${first.assistantMessage.id}/regenerate`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const text = await res.text()
    expect(text).toContain('event: generation.completed')
    const started = JSON.parse(/event: generation.started\ndata: (.*)\n/.exec(text)![1]!)
    expect(started.userMessageId).toBe(first.userMessage.id)
    expect((await get(user, conv.id)).currentLeafId).toBe(started.assistantMessageId)

    const slow = await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: '[[emulator tokens=50 delay=40]] slow' } })
    expect(slow.status).toBe(200)
    const busy = await expectProblem(await user.call('POST', `/v1/messages/${first.assistantMessage.id}/regenerate`, { body: { stream: false } }), 409, 'conflict')
    expect(busy.activeGenerationId).toMatch(/^gen_/)
    await slow.text()
  })

  it('refuses what cannot be regenerated or switched to, and hides other users\' messages', async () => {
    const user = await t.register()
    const other = await t.register()
    const conv = await conversation(user)
    const first = await say(user, conv.id, 'mine')
    await expectProblem(await user.call('POST', `/v1/messages/${first.userMessage.id}/regenerate`, { body: {} }), 400, 'validation_failed')
    await expectProblem(await user.call('POST', '/v1/messages/msg_nope/regenerate', { body: {} }), 404, 'not_found')
    await expectProblem(await other.call('POST', `/v1/messages/${first.assistantMessage.id}/regenerate`, { body: {} }), 404, 'not_found')
    await expectProblem(await user.call('POST', `/v1/messages/${first.assistantMessage.id}/regenerate`, { body: { stream: 'yes' } }), 400, 'validation_failed')
    await expectProblem(await user.call('PATCH', `/v1/conversations/${conv.id}`, { body: { currentLeafId: 'msg_nope' } }), 404, 'not_found')
    const elsewhere = await say(user, (await conversation(user)).id, 'elsewhere')
    await expectProblem(await user.call('PATCH', `/v1/conversations/${conv.id}`, { body: { currentLeafId: elsewhere.userMessage.id } }), 404, 'not_found')
    await expectProblem(await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'x', parentId: elsewhere.assistantMessage.id, stream: false } }), 404, 'not_found')
    await expectProblem(await user.call('GET', `/v1/conversations/${conv.id}/messages?branch=left`), 400, 'validation_failed')
  })

  it('exports the whole tree as JSON and the current branch as Markdown', async () => {
    const user = await t.register()
    const conv = await conversation(user, { title: 'Tree' })
    const first = await say(user, conv.id, 'root question')
    await say(user, conv.id, 'old branch')
    await say(user, conv.id, 'new branch', { parentId: first.assistantMessage.id })
    const exported = await json(await user.call('GET', `/v1/conversations/${conv.id}/export?format=json`), 200)
    expect(exported.conversation.currentLeafId).toBe(exported.messages.at(-1).id)
    expect(exported.messages.map(textOf)).toEqual(['root question', 'root question', 'old branch', 'old branch', 'new branch', 'new branch'])
    const markdown = await (await user.call('GET', `/v1/conversations/${conv.id}/export?format=markdown`)).text()
    expect(markdown).toContain('new branch')
    expect(markdown).toContain('root question')
    expect(markdown).not.toContain('old branch')
  })

  it('pages the current branch', async () => {
    const user = await t.register()
    const conv = await conversation(user)
    const first = await say(user, conv.id, 'p0')
    await say(user, conv.id, 'stale')
    let parent = first.assistantMessage.id
    for (let i = 1; i <= 3; i++) parent = (await say(user, conv.id, `p${i}`, { parentId: parent })).assistantMessage.id
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { data: { parts: { type: string; text: string }[] }[]; nextCursor: string | null } = await json(
        await user.call('GET', `/v1/conversations/${conv.id}/messages?limit=3${cursor ? `&cursor=${cursor}` : ''}`),
        200,
      )
      seen.push(...page.data.map(textOf))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toEqual(['p0', 'p0', 'p1', 'p1', 'p2', 'p2', 'p3', 'p3'])
  })
})
