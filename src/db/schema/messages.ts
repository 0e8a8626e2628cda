import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'
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
    /** Who sent the turn this message belongs to (user and assistant message alike); rows from before authorship got their generation's user, else the conversation's creator. */
    userId: text('user_id'),
    /** The API key the turn was sent with, if any. */
    apiKeyId: text('api_key_id'),
    /** MessageMetadata as JSON (e.g. what of the history was left out of the model call); null when there is none. */
    metadata: text('metadata', { mode: 'json' }).$type<Record<string, unknown>>(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [index('messages_conversation_idx').on(table.conversationId, table.id), index('messages_parent_idx').on(table.conversationId, table.parentId)],
)

/** One rating per user per message. */
export const messageFeedback = sqliteTable(
  'message_feedback',
  {
    messageId: text('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    rating: text('rating', { enum: ['up', 'down'] }).notNull(),
    comment: text('comment'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.messageId, table.userId] })],
)
