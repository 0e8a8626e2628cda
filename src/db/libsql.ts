import type { Client } from '@libsql/client'
import { construct } from 'drizzle-orm/libsql/driver-core'
import * as schema from './schema'
import type { Database } from './database'

/** Drizzle over a libsql client the entry opened (driver-core: no client of its own is bundled with it). */
export function libsqlDatabase(client: Client): Database {
  return construct(client, { schema })
}
