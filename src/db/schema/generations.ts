import { sqliteTable, text, integer, index, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { conversations } from './conversations'
import { users } from './users'

export const generations = sqliteTable(
  'generations',
  {
    id: text('id').primaryKey(),
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userMessageId: text('user_message_id').notNull(),
    assistantMessageId: text('assistant_message_id').notNull(),
    status: text('status', { enum: ['running', 'completed', 'failed', 'cancelled'] }).notNull(),
    modelId: text('model_id').notNull(),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    inputTokens: integer('input_tokens'),
    outputTokens: integer('output_tokens'),
    errorCode: text('error_code'),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    /** The stream owner (stream_owners) whose process runs it, with the memory hub; null elsewhere. */
    ownerId: text('owner_id'),
  },
  (table) => [
    index('generations_conversation_idx').on(table.conversationId),
    uniqueIndex('generations_idempotency_idx').on(table.userId, table.idempotencyKey),
  ],
)
