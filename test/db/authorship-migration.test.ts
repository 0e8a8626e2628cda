import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { LibsqlFileClient } from '../../src/entries/libsql-file-client'

const folder = new URL('../../migrations/', import.meta.url)
const statements = (file: string) =>
  readFileSync(new URL(file, folder), 'utf8')
    .split('--> statement-breakpoint')
    .map((statement) => statement.trim())
    .filter(Boolean)

describe('migration 0005: authorship and per-user feedback', () => {
  it('attributes existing messages to whoever sent their turn and keeps existing ratings as the creator’s', async () => {
    const client = new LibsqlFileClient(':memory:')
    const files = readdirSync(folder).filter((file) => file.endsWith('.sql')).sort()
    const target = files.findIndex((file) => file.startsWith('0005_'))
    for (const file of files.slice(0, target)) for (const sql of statements(file)) await client.execute(sql)
    const now = Date.now()
    const run = (sql: string, args: (string | number | null)[]) => client.execute({ sql, args })
    for (const user of ['usr_owner', 'usr_member']) {
      await run(`insert into users (id, email, created_at, updated_at) values (?, ?, ?, ?)`, [user, `${user}@example.com`, now, now])
    }
    await run(`insert into workspaces (id, name, created_at, updated_at) values ('ws_1', 'Team', ?, ?)`, [now, now])
    await run(`insert into conversations (id, workspace_id, user_id, visibility, created_at, updated_at) values ('conv_1', 'ws_1', 'usr_owner', 'workspace', ?, ?)`, [now, now])
    const message = (id: string, role: string, rating: string | null, comment: string | null) =>
      run(
        `insert into messages (id, conversation_id, role, parts, status, feedback_rating, feedback_comment, created_at, updated_at)
         values (?, 'conv_1', ?, '[]', 'complete', ?, ?, ?, ?)`,
        [id, role, rating, comment, now, now],
      )
    await message('msg_u1', 'user', null, null)
    await message('msg_a1', 'assistant', 'down', 'too short')
    await message('msg_u2', 'user', null, null)
    await message('msg_a2', 'assistant', null, null)
    await message('msg_orphan', 'user', null, null)
    await run(
      `insert into generations (id, conversation_id, user_id, user_message_id, assistant_message_id, status, model_id, started_at)
       values ('gen_2', 'conv_1', 'usr_member', 'msg_u2', 'msg_a2', 'completed', 'amazon.nova-lite-v1:0', ?)`,
      [now],
    )
    await run(
      `insert into generations (id, conversation_id, user_id, user_message_id, assistant_message_id, status, model_id, started_at)
       values ('gen_1', 'conv_1', 'usr_owner', 'msg_u1', 'msg_a1', 'completed', 'amazon.nova-lite-v1:0', ?)`,
      [now],
    )

    for (const sql of statements(files[target]!)) await client.execute(sql)

    const authors = (await client.execute('select id, user_id, api_key_id from messages order by id')).rows.map((row) => [row.id, row.user_id, row.api_key_id])
    expect(authors).toEqual([
      ['msg_a1', 'usr_owner', null],
      ['msg_a2', 'usr_member', null],
      ['msg_orphan', 'usr_owner', null], // no generation: the conversation's creator
      ['msg_u1', 'usr_owner', null],
      ['msg_u2', 'usr_member', null],
    ])
    const feedback = (await client.execute('select message_id, user_id, rating, comment from message_feedback')).rows.map((row) => [row.message_id, row.user_id, row.rating, row.comment])
    expect(feedback).toEqual([['msg_a1', 'usr_owner', 'down', 'too short']])
    const columns = (await client.execute(`select name from pragma_table_info('messages')`)).rows.map((row) => row.name)
    expect(columns).not.toContain('feedback_rating')
    client.close()
  })
})
