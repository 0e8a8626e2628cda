import type { Client } from '@libsql/client'
import { drizzle } from 'drizzle-orm/libsql'
import * as schema from './schema'
import type { Database } from './database'

export function libsqlDatabase(client: Client): Database {
  return drizzle(client, { schema })
}
