import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SEARCH_SCAN_BYTES, SEARCH_SCAN_MESSAGES } from '../../src/db/repositories/conversations'
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

describe('q reads a bounded number of messages', () => {
  it('finds text with quotes, backslashes, non-ASCII and LIKE wildcards as typed, and nothing that only the JSON spelling holds', async () => {
    const user = await t.register()
    const conv = await create(user)
    await say(user, conv.id, 'She said "50% off" at C:\\temp — naïve café_bar')
    const find = async (q: string) =>
      ((await (await user.call('GET', `/v1/conversations?q=${encodeURIComponent(q)}`)).json()).data as { id: string }[]).map((c) => c.id)
    for (const q of ['"50% off"', 'C:\\temp', 'naïve café_bar', 'NAÏVE'.toLowerCase(), 'SHE SAID']) expect(await find(q)).toEqual([conv.id])
    for (const q of ['"type"', 'text":', '\\"', '50%_off', 'cafe']) expect(await find(q)).toEqual([])
  })

  it(`searches the text of the newest ${SEARCH_SCAN_MESSAGES} messages, titles always`, async () => {
    const user = await t.register()
    const old = await create(user, { title: 'Archive of needles' })
    await say(user, old.id, 'a haystack with one needle in it')
    const recent = await create(user)
    await appendMessages(recent.id, SEARCH_SCAN_MESSAGES, (i) => (i === SEARCH_SCAN_MESSAGES - 1 ? 'the newest needle' : `hay ${i}`))
    const find = async (q: string) => ((await (await user.call('GET', `/v1/conversations?q=${q}`)).json()).data as { id: string }[]).map((c) => c.id)
    // The old conversation's message text is past the scan window; its title still matches.
    expect(await find('haystack')).toEqual([])
    expect((await find('needle')).sort()).toEqual([old.id, recent.id].sort())
  })

  it(`and at most ${SEARCH_SCAN_BYTES / 1024 / 1024} MiB of them (image bytes count, unread)`, async () => {
    const user = await t.register()
    const old = await create(user, { title: 'Old' })
    await say(user, old.id, 'a wombat under the images')
    const withImages = await create(user)
    const image = 'A'.repeat(4_000_000)
    const rows = Math.ceil(SEARCH_SCAN_BYTES / image.length)
    await appendMessages(withImages.id, rows, () => 'pictures')
    await t.client.execute({ sql: `UPDATE messages SET parts = json_insert(parts, '$[#]', json_object('type', 'image', 'format', 'png', 'data', ?)) WHERE conversation_id = ?`, args: [image, withImages.id] })
    const find = async (q: string) => ((await (await user.call('GET', `/v1/conversations?q=${q}`)).json()).data as { id: string }[]).map((c) => c.id)
    expect(await find('pictures')).toEqual([withImages.id])
    expect(await find('wombat')).toEqual([])
  })
})
