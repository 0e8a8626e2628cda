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

/** A placeholder named `${prefix}${key}` for every column of `table`: an insert of a whole row. */
export function rowPlaceholders<T extends Table>(table: T, prefix = ''): T['$inferInsert'] {
  return Object.fromEntries(Object.keys(getTableColumns(table)).map((key) => [key, sql.placeholder(`${prefix}${key}`)])) as T['$inferInsert']
}

/** The values for `rowPlaceholders(table, prefix)`. */
export function rowValues(row: object, prefix: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [`${prefix}${key}`, value]))
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
export async function runPreparedBatch(db: Database, items: { statement: PreparedStatement; values: Record<string, unknown> }[]): Promise<void> {
  const queries = items.map(({ statement, values }) => bind(statement, values))
  const client = db.$client
  if ('execute' in client) await client.batch(queries as Parameters<typeof client.batch>[0], 'write')
  else await client.batch(queries.map((query) => client.prepare(query.sql).bind(...query.args)))
}
