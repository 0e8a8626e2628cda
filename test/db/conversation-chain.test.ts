import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { conversationChain, messageParts } from '../../src/db/repositories/messages'
import { createTestApp, type TestApp } from '../helpers'

let t: TestApp
let conversationId: string
const big = 'A'.repeat(3_000_000)
const small = 'QUJD'

beforeAll(async () => {
  t = await createTestApp()
  const user = await t.register()
  conversationId = (await (await user.call('POST', '/v1/conversations', { body: {} })).json()).id
  // root ─ a1 ─┬─ u2 (small image) ─ a2
  //            └─ u2b (big image, a sibling branch) ─ a2b
  const rows: [string, string | null, string, unknown[]][] = [
    ['msg_1', null, 'user', [{ type: 'text', text: 'root' }]],
    ['msg_2', 'msg_1', 'assistant', [{ type: 'text', text: 'a1' }]],
    ['msg_3', 'msg_2', 'user', [{ type: 'text', text: 'u2' }, { type: 'image', format: 'png', data: small }]],
    ['msg_4', 'msg_2', 'user', [{ type: 'image', format: 'png', data: big }, { type: 'document', format: 'txt', name: 'n', data: big }]],
    ['msg_5', 'msg_4', 'assistant', [{ type: 'text', text: 'a2b' }]],
    ['msg_6', 'msg_3', 'assistant', [{ type: 'text', text: 'a2' }]],
  ]
  await t.client.batch(
    rows.map(([id, parentId, role, parts]) => ({
      sql: "insert into messages (id, conversation_id, parent_id, role, parts, status, created_at, updated_at) values (?, ?, ?, ?, ?, 'complete', 0, 0)",
      args: [id, conversationId, parentId, role, JSON.stringify(parts)],
    })),
  )
})
afterAll(() => t.close())

describe('conversationChain', () => {
  it('loads only the chain up from the leaf, oldest first, without media bytes', async () => {
    const chain = await conversationChain(t.db, conversationId, 'msg_6')
    expect(chain.map((message) => message.id)).toEqual(['msg_1', 'msg_2', 'msg_3', 'msg_6'])
    expect(chain[2]!.parts).toEqual([{ type: 'text', text: 'u2' }, { type: 'image', format: 'png', bytes: 3 }])
    expect(chain[0]).toEqual({ id: 'msg_1', parentId: null, role: 'user', status: 'complete', parts: [{ type: 'text', text: 'root' }] })
  })

  it('leaves the bytes of media in the database, also on the chain', async () => {
    const chain = await conversationChain(t.db, conversationId, 'msg_5')
    expect(chain.map((message) => message.id)).toEqual(['msg_1', 'msg_2', 'msg_4', 'msg_5'])
    expect(chain[2]!.parts).toEqual([
      { type: 'image', format: 'png', bytes: 2_250_000 },
      { type: 'document', format: 'txt', name: 'n', bytes: 2_250_000 },
    ])
    expect(JSON.stringify(chain).length).toBeLessThan(1_000)
    expect((await messageParts(t.db, ['msg_4'])).get('msg_4')).toEqual([
      { type: 'image', format: 'png', data: big },
      { type: 'document', format: 'txt', name: 'n', data: big },
    ])
  })

  it('starts from the latest message by default; empty for a message of another conversation or none', async () => {
    expect((await conversationChain(t.db, conversationId, null)).map((message) => message.id)).toEqual(['msg_1', 'msg_2', 'msg_3', 'msg_6'])
    expect(await conversationChain(t.db, conversationId, 'msg_unknown')).toEqual([])
    expect(await conversationChain(t.db, 'conv_other', 'msg_6')).toEqual([])
    expect(await conversationChain(t.db, 'conv_other', null)).toEqual([])
  })
})
