import { Param, Placeholder, fillPlaceholders, getTableColumns, is, sql, type Table } from 'drizzle-orm'
import type { Database } from './database'

const statements = new WeakMap<Database, Map<string, unknown>>()

/**
 * A statement built once per database and reused: drizzle builds SQL on every call otherwise, which costs more
 * than running it on the hot path (a turn). `build` must use `sql.placeholder()` for every value.
 */
export function prepared<T>(db: Database, name: string, build: () => T): T {
  let cache = statements.get(db)
  if (!cache) statements.set(db, (cache = new Map()))
  let statement = cache.get(name) as T | undefined
  if (statement === undefined) {
    statement = build()
    cache.set(name, statement)
  }
  return statement
}

/** A placeholder where drizzle's types expect a column value; drizzle encodes it with the column's mapping. */
export const placeholder = <T>(name: string) => sql.placeholder(name) as unknown as T

/** A placeholder for every column of `table`, named as the column: the row itself is then the values. */
export function rowPlaceholders<T extends Table>(table: T): T['$inferInsert'] {
  return Object.fromEntries(Object.keys(getTableColumns(table)).map((key) => [key, sql.placeholder(key)])) as T['$inferInsert']
}

interface PreparedStatement {
  getQuery(): { sql: string; params: unknown[] }
}

/** As drizzle binds inline values: NULL stays NULL instead of going through the column's encoder. */
function bind(statement: PreparedStatement, values: Record<string, unknown>) {
  const { sql: text, params } = statement.getQuery()
  const nullable = params.map((param) => (is(param, Param) && is(param.value, Placeholder) && values[param.value.name] === null ? null : param))
  return { sql: text, args: fillPlaceholders(nullable, values) }
}

/**
 * Prepared statements with their values, run as one atomic batch. drizzle's `batch()` only takes query builders
 * and builds their SQL on every call, which cost more than the writes of a turn.
 */
export async function runPreparedBatch(db: Database, items: { statement: PreparedStatement; values: object }[]): Promise<void> {
  const queries = items.map(({ statement, values }) => bind(statement, values as Record<string, unknown>))
  const client = db.$client
  if ('execute' in client) await client.batch(queries as Parameters<typeof client.batch>[0], 'write')
  else await client.batch(queries.map((query) => client.prepare(query.sql).bind(...query.args)))
}
