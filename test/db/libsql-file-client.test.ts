import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LibsqlError, type ResultSet } from '@libsql/client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config'
import { LibsqlFileClient } from '../../src/entries/libsql-file-client'
import { openDatabase } from '../../src/entries/local'

describe('LibsqlFileClient (local SQLite for Node and Bun)', () => {
  let dir: string
  let client: LibsqlFileClient

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgechat-libsql-'))
    client = new LibsqlFileClient(join(dir, 'test.db'))
    await client.execute('create table items (id integer primary key, name text not null unique, data blob, flag integer)')
  })
  afterEach(() => {
    client.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('returns rows by index and by column name, and reports changes', async () => {
    const insert = await client.execute({ sql: 'insert into items (name, flag) values (?, ?), (?, ?)', args: ['a', true, 'b', false] })
    expect(insert.rowsAffected).toBe(2)
    expect(insert.lastInsertRowid).toBe(2n)
    const result = await client.execute('select id, name, flag, length from (select *, 7 as length from items) order by id')
    expect(result.columns).toEqual(['id', 'name', 'flag', 'length'])
    expect(result.rows).toHaveLength(2)
    const [first] = result.rows
    expect(Array.prototype.slice.call(first)).toEqual([1, 'a', 1, 7])
    expect(first!.name).toBe('a')
    expect(first!.id).toBe(1)
    expect(first!.length).toBe(4) // a column named `length` can't shadow the row's own length, as in @libsql/client
  })

  it('binds named arguments, dates, booleans, null and blobs', async () => {
    await client.execute({ sql: 'insert into items (name, data, flag) values (:name, $data, @flag)', args: { name: 'x', data: new Uint8Array([1, 2, 3]).buffer, flag: true } })
    await client.execute('insert into items (name, flag) values (?, ?)', ['y', null])
    const rows = (await client.execute('select name, data, flag from items order by name')).rows
    expect(rows[0]!.name).toBe('x')
    expect([...(rows[0]!.data as unknown as Uint8Array)]).toEqual([1, 2, 3])
    expect(rows[0]!.flag).toBe(1)
    expect(rows[1]!.flag).toBeNull()
    await client.execute({ sql: 'update items set flag = ? where name = ?', args: [new Date(1234), 'y'] })
    expect((await client.execute("select flag from items where name = 'y'")).rows[0]!.flag).toBe(1234)
  })

  it('reads back text holding NUL whole (the binding alone stops at the first NUL)', async () => {
    const text = '\u0000a\u0000b\u{1F469}\u200D\u{1F467} e\u0301\u0000'
    await client.execute({ sql: 'insert into items (name, flag) values (?, 1)', args: [text] })
    await client.batch([{ sql: 'insert into items (name, flag) values (:name, 2)', args: { name: `${text}2` } }], 'write')
    const rows = (await client.execute('select name, upper(name) as shout, data from items order by flag')).rows
    expect(rows.map((row) => row.name)).toEqual([text, `${text}2`])
    expect(Array.prototype.slice.call(rows[0]!, 0, 1)).toEqual([text])
    expect(rows[0]!.data).toBeNull()
    // Found again by equality, and stored as its exact UTF-8 bytes.
    const found = await client.execute({ sql: 'select flag, hex(name) as bytes from items where name = ?', args: [text] })
    expect(found.rows.map((row) => row.flag)).toEqual([1])
    expect(found.rows[0]!.bytes).toBe(Buffer.from(text).toString('hex').toUpperCase())
    const returned = await client.execute({ sql: 'update items set name = ? where flag = 2 returning name', args: [`${text}3`] })
    expect(returned.rows[0]!.name).toBe(`${text}3`)
    // A column declared BLOB still reads as bytes.
    await client.execute({ sql: 'update items set data = ? where flag = 1', args: [new TextEncoder().encode('a\u0000b').buffer] })
    expect((await client.execute('select data from items where flag = 1')).rows[0]!.data).toBeInstanceOf(Uint8Array)
  })

  it('reuses one prepared statement per SQL text', async () => {
    for (let i = 0; i < 50; i++) await client.execute({ sql: 'insert into items (name) values (?)', args: [`n${i}`] })
    const count = await client.execute('select count(*) as n from items')
    expect(count.rows[0]!.n).toBe(50)
    // The statement stays usable after an error on the same text.
    await expect(client.execute({ sql: 'insert into items (name) values (?)', args: ['n1'] })).rejects.toBeInstanceOf(LibsqlError)
    await client.execute({ sql: 'insert into items (name) values (?)', args: ['fresh'] })
    expect((await client.execute('select count(*) as n from items')).rows[0]!.n).toBe(51)
  })

  it('runs a batch in one transaction and rolls all of it back when a statement fails', async () => {
    const results = await client.batch([{ sql: 'insert into items (name) values (?)', args: ['one'] }, ['insert into items (name) values (?)', ['two']], 'select count(*) as n from items'], 'write')
    expect(results.map((result) => result.rowsAffected)).toEqual([1, 1, 0])
    expect(results[2]!.rows[0]!.n).toBe(2)

    const failing = client.batch([{ sql: 'insert into items (name) values (?)', args: ['three'] }, { sql: 'insert into items (name) values (?)', args: ['one'] }], 'write')
    await expect(failing).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT', extendedCode: 'SQLITE_CONSTRAINT_UNIQUE' })
    const names = (await client.execute('select name from items order by name')).rows.map((row) => row.name)
    expect(names).toEqual(['one', 'two'])
    // Not left inside a transaction: the next batch commits on its own.
    await client.batch([{ sql: 'insert into items (name) values (?)', args: ['four'] }])
    expect((await client.execute('select count(*) as n from items')).rows[0]!.n).toBe(3)
  })

  it('commits the batches of one event-loop turn together, each atomic on its own', async () => {
    const insert = (name: string) => ({ sql: 'insert into items (name) values (?)', args: [name] })
    // Several in flight at once, as concurrent turns issue them; the middle one fails on its second statement.
    const outcomes = await Promise.allSettled([
      client.batch([insert('a1'), insert('a2')], 'write'),
      client.batch([insert('b1'), insert('a1')], 'write'),
      client.batch([insert('c1'), 'select count(*) as n from items'], 'write'),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT', extendedCode: 'SQLITE_CONSTRAINT_UNIQUE' })
    // Each batch sees the ones before it in its group, and nothing of the failed one.
    expect((outcomes[2] as PromiseFulfilledResult<ResultSet[]>).value[1]!.rows[0]!.n).toBe(3)
    expect((await client.execute('select name from items order by name')).rows.map((row) => row.name)).toEqual(['a1', 'a2', 'c1'])
    // A reader on another connection sees a group only once it has committed: all of it at once.
    const other = new LibsqlFileClient(join(dir, 'test.db'))
    try {
      const pending = client.batch([insert('d1')], 'write')
      expect((await other.execute('select count(*) as n from items')).rows[0]!.n).toBe(3)
      await pending
      expect((await other.execute('select count(*) as n from items')).rows[0]!.n).toBe(4)
    } finally {
      other.close()
    }
  })

  it('commits what is queued when closed', async () => {
    const pending = client.batch([{ sql: 'insert into items (name) values (?)', args: ['last'] }], 'write')
    client.close()
    await pending
    const reopened = new LibsqlFileClient(join(dir, 'test.db'))
    expect((await reopened.execute('select name from items')).rows.map((row) => row.name)).toEqual(['last'])
    reopened.close()
  })

  it('maps SQL errors to LibsqlError with SQLite codes', async () => {
    const error = await client.execute('select * from missing_table').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(LibsqlError)
    expect((error as LibsqlError).code).toBe('SQLITE_ERROR')
    expect((error as LibsqlError).message).toMatch(/missing_table/)
  })

  it('migrates with foreign keys off and turns them back on', async () => {
    await client.execute('PRAGMA foreign_keys = ON')
    await client.migrate([{ sql: 'create table children (id integer primary key, item_id integer references items(id))', args: [] }, { sql: 'insert into children (item_id) values (99)', args: [] }])
    expect((await client.execute('PRAGMA foreign_keys')).rows[0]![0]).toBe(1)
    await expect(client.execute('insert into children (item_id) values (98)')).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT' })
  })

  it('refuses interactive transactions and use after close', async () => {
    await expect(client.transaction()).rejects.toThrow(/use batch\(\)/)
    client.close()
    expect(client.closed).toBe(true)
    await expect(client.execute('select 1')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' })
    client.close()
  })
})

describe('openDatabase', () => {
  it('lets processes that start together on a new database all migrate it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgechat-migrate-'))
    const config = parseConfig({ DATABASE_URL: `file:${join(dir, 'edgechat.db')}`, JWT_SECRET: 'x'.repeat(48), LOG_LEVEL: 'silent' })
    // Each read the empty migrations table before any of them applied a migration: the losers' CREATE TABLEs fail.
    const clients = await Promise.all([openDatabase(config), openDatabase(config), openDatabase(config)])
    try {
      for (const client of clients) expect((await client.execute('select count(*) as n from users')).rows[0]!.n).toBe(0)
    } finally {
      clients.forEach((client) => client.close())
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
