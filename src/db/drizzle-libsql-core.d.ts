import type { Client } from '@libsql/client'
import type { DrizzleConfig } from 'drizzle-orm'
import type { LibSQLDatabase } from 'drizzle-orm/libsql/driver-core'

// drizzle-orm's driver-core builds the database over a client it is given (what drizzle() of drizzle-orm/libsql
// does after opening one); its JavaScript exports `construct`, its declarations do not.
declare module 'drizzle-orm/libsql/driver-core' {
  export function construct<TSchema extends Record<string, unknown>>(client: Client, config?: DrizzleConfig<TSchema>): LibSQLDatabase<TSchema> & { $client: Client }
}
