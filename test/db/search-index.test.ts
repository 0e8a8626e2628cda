import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSearchIndex } from '../../src/search/search-index'
import { createLogger } from '../../src/lib/logger'
import { createTestApp, type TestApp } from '../helpers'

let t: TestApp
let conversationId: string

beforeAll(async () => {
  t = await createTestApp()
  const user = await t.register()
  conversationId = (await (await user.call('POST', '/v1/conversations', { body: {} })).json()).id
})
afterAll(() => t.close())

const queued = async () => (await t.client.execute('select count(*) as n from search_queue')).rows[0]!.n
const indexed = async (word: string) =>
  (await t.client.execute({ sql: 'select d.message_id from search_index join search_documents d on d.id = search_index.rowid where search_index match ?', args: [word] })).rows.map(
    (row) => row.message_id,
  )
const insert = (id: string, status: string, text: string) =>
  t.client.execute({
    sql: 'insert into messages (id, conversation_id, parent_id, role, parts, status, created_at, updated_at) values (?, ?, null, ?, ?, ?, 0, 0)',
    args: [id, conversationId, 'assistant', JSON.stringify([{ type: 'text', text }]), status],
  })

describe('the search index upkeep', () => {
  it('queues stored messages and indexes them in one batch, on catch-up or every 32 turns', async () => {
    const index = createSearchIndex(t.db, createLogger('silent'))
    await index.catchUp()
    await insert('msg_a', 'complete', 'quokka one')
    await insert('msg_b', 'streaming', 'quokka placeholder')
    expect(await queued()).toBe(1)
    expect(await indexed('quokka')).toEqual([])
    await index.catchUp()
    expect(await queued()).toBe(0)
    expect(await indexed('quokka')).toEqual(['msg_a'])

    // The streaming answer becomes final: queued again, and its text replaces nothing else.
    await t.client.execute({ sql: `update messages set status = 'complete', parts = ? where id = 'msg_b'`, args: [JSON.stringify([{ type: 'text', text: 'quokka wombat' }])] })
    await t.client.execute({ sql: `update messages set parts = ? where id = 'msg_a'`, args: [JSON.stringify([{ type: 'text', text: 'numbat' }])] })
    expect(await queued()).toBe(2)
    for (let turn = 1; turn < 32; turn++) index.turnStored()
    expect(await queued()).toBe(2)
    index.turnStored()
    await expect.poll(queued, { timeout: 10_000 }).toBe(0)
    expect(await indexed('quokka')).toEqual(['msg_b'])
    expect(await indexed('numbat')).toEqual(['msg_a'])

    // A deleted message leaves the index and the queue at once.
    await t.client.execute({ sql: `update messages set parts = ? where id = 'msg_b'`, args: [JSON.stringify([{ type: 'text', text: 'quokka again' }])] })
    await t.client.execute(`delete from messages where id = 'msg_b'`)
    expect(await queued()).toBe(0)
    expect(await indexed('wombat')).toEqual([])
  })
})
