import { sqliteTable, text, integer, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { conversations } from './conversations'
import { generations } from './generations'
import { users } from './users'

/** A stored Responses API response (`resp_…`): a turn of a conversation (its generation) and what the request set. */
export const responses = sqliteTable(
  'responses',
  {
    id: text('id').primaryKey(),
    generationId: text('generation_id')
      .notNull()
      .references(() => generations.id, { onDelete: 'cascade' }),
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    previousResponseId: text('previous_response_id'),
    /** The request's settings the response object echoes (model, instructions, tools, text, metadata, …). */
    request: text('request', { mode: 'json' }).notNull().$type<Record<string, unknown>>(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [uniqueIndex('responses_generation_idx').on(table.generationId)],
)
