import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * Processes that run generations in their own memory (the memory hub), each alive while its heartbeat is fresh:
 * another process may only finalize a running generation whose owner's heartbeat went stale.
 */
export const streamOwners = sqliteTable('stream_owners', {
  id: text('id').primaryKey(),
  /** Epoch milliseconds. */
  heartbeatAt: integer('heartbeat_at').notNull(),
})

/**
 * A finished generation's events, packed, kept for the stream retention window so replays stay exact without
 * holding them in a process's heap. No foreign key: rows expire on their own.
 */
export const generationLogs = sqliteTable(
  'generation_logs',
  {
    generationId: text('generation_id').primaryKey(),
    state: text('state', { enum: ['completed', 'failed', 'cancelled'] }).notNull(),
    lastEventId: integer('last_event_id').notNull(),
    /** The packed events (memory-hub.ts: pack). */
    events: text('events').notNull(),
    /** Epoch milliseconds. */
    expiresAt: integer('expires_at').notNull(),
  },
  (table) => [index('generation_logs_expires_idx').on(table.expiresAt)],
)
