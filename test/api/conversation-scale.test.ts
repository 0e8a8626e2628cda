import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

type User = Awaited<ReturnType<TestApp['register']>>

const create = async (user: User, body: Record<string, unknown> = {}) => (await user.call('POST', '/v1/conversations', { body })).json()
const say = async (user: User, id: string, content: string) => {
  const res = await user.call('POST', `/v1/conversations/${id}/messages`, { body: { content, stream: false } })
  if (res.status !== 201) throw new Error(`turn failed ${res.status} ${await res.text()}`)
}

/** Appends `count` stored messages straight into the database (a long history without running the model). */
async function appendMessages(conversationId: string, count: number, text: (i: number) => string = (i) => `filler ${i}`) {
  const values = Array.from({ length: count }, (_, i) => ({
    id: `msg_zz${conversationId.slice(-6)}${String(i).padStart(6, '0')}`,
    parts: JSON.stringify([{ type: 'text', text: text(i) }]),
  }))
  const now = Date.now()
  // Each message answers the one before it (the first, the conversation's latest), and the last is the current leaf.
  const latest = (await t.client.execute({ sql: 'SELECT id FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT 1', args: [conversationId] })).rows[0]
  let parent = (latest?.id as string | undefined) ?? null
  for (let start = 0; start < values.length; start += 500) {
    await t.client.batch(
      values.slice(start, start + 500).map((value) => {
        const args = [value.id, conversationId, parent, value.parts, now, now]
        parent = value.id
        return {
          sql: `INSERT INTO messages (id, conversation_id, parent_id, role, parts, status, created_at, updated_at)
              VALUES (?, ?, ?, 'user', ?, 'complete', ?, ?)`,
          args,
        }
      }),
    )
  }
  await t.client.execute({ sql: 'UPDATE conversations SET current_leaf_id = ? WHERE id = ?', args: [parent, conversationId] })
}

describe('exports are streamed page by page', () => {
  it('writes a long conversation in many chunks, and the document is the whole conversation in order', async () => {
    const user = await t.register()
    const conv = await create(user, { title: 'Long' })
    await say(user, conv.id, 'first')
    await appendMessages(conv.id, 60)

    const res = await user.call('GET', `/v1/conversations/${conv.id}/export`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${conv.id}.json"`)
    const chunks: string[] = []
    const decoder = new TextDecoder()
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(decoder.decode(chunk, { stream: true }))
    expect(chunks.length).toBeGreaterThan(5)
    const exported = JSON.parse(chunks.join(''))
    expect(exported.conversation).toMatchObject({ id: conv.id, title: 'Long' })
    expect(exported.messages).toHaveLength(62)
    expect(exported.messages.map((m: { parts: { text: string }[] }) => m.parts[0]!.text).slice(0, 3)).toEqual([
      'first',
      expect.any(String),
      'filler 0',
    ])
    expect(exported.messages.at(-1).parts[0].text).toBe('filler 59')
    const paged = await (await user.call('GET', `/v1/conversations/${conv.id}/messages?branch=all&limit=100`)).json()
    expect(exported.messages).toEqual(paged.data.map(({ siblingIds: _, ...message }: { siblingIds: string[] }) => message))

    const md = await user.call('GET', `/v1/conversations/${conv.id}/export?format=markdown`)
    const text = await md.text()
    expect(text.startsWith('# Long\n\n## User\n\nfirst\n\n## Assistant\n\n')).toBe(true)
    expect(text.endsWith('## User\n\nfiller 59\n')).toBe(true)
    expect(text.match(/^## /gm)).toHaveLength(62)
  })

  it('exports an empty conversation', async () => {
    const user = await t.register()
    const conv = await create(user)
    expect(await (await user.call('GET', `/v1/conversations/${conv.id}/export`)).json()).toMatchObject({ messages: [] })
    expect(await (await user.call('GET', `/v1/conversations/${conv.id}/export?format=markdown`)).text()).toBe('# Untitled conversation\n')
  })
})
