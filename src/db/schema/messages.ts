import { sqliteTable, text, integer, index } from 'drizzle-orm/sqlite-core'
import { conversations } from './conversations'

export const messages = sqliteTable(
  'messages',
  {
    id: text('id').primaryKey(),
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    parentId: text('parent_id'),
    role: text('role', { enum: ['user', 'assistant'] }).notNull(),
    /** Part[] as JSON. */
    parts: text('parts', { mode: 'json' }).$type<unknown[]>().notNull(),
    status: text('status', { enum: ['streaming', 'complete', 'incomplete', 'failed', 'cancelled'] }).notNull(),
    modelId: text('model_id'),
    inputTokens: integer('input_tokens'),
    outputTokens: integer('output_tokens'),
    stopReason: text('stop_reason'),
    latencyMs: integer('latency_ms'),
    feedbackRating: text('feedback_rating', { enum: ['up', 'down'] }),
    feedbackComment: text('feedback_comment'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [index('messages_conversation_idx').on(table.conversationId, table.id)],
)
