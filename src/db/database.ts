import type { Client } from '@libsql/client'
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch'
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core'
import type * as schema from './schema'

/**
 * What LibSQLDatabase and DrizzleD1Database have in common, so one set of repositories serves libsql (file,
 * :memory:, Turso) and D1. Multi-row writes use `batch()`: D1 has no interactive transactions.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Database = BaseSQLiteDatabase<'async', any, typeof schema> & {
  batch<U extends BatchItem<'sqlite'>, T extends Readonly<[U, ...U[]]>>(batch: T): Promise<BatchResponse<T>>
  /** The driver's own client, for the prepared batches of src/db/prepared.ts. */
  $client: Client | D1Database
}
