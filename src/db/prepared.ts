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
