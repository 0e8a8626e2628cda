import { drizzle } from 'drizzle-orm/d1'
import * as schema from './schema'
import type { Database } from './database'

export function d1Database(binding: D1Database): Database {
  return drizzle(binding, { schema })
}
