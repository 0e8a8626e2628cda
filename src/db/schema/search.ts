import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/**
 * What the full-text index (the FTS5 table `search_index`, created by migration 0008) holds:
 * one row per indexed message or conversation title, whose integer id is the index row's rowid. Messages and
 * conversations have text keys, which FTS5 cannot use as rowids.
 */
export const searchDocuments = sqliteTable(
  'search_documents',
  {
    id: integer('id').primaryKey(),
    conversationId: text('conversation_id').notNull(),
    /** Null for the conversation's title. */
    messageId: text('message_id'),
  },
  (table) => [uniqueIndex('search_documents_message_idx').on(table.messageId), index('search_documents_conversation_idx').on(table.conversationId, table.messageId)],
)

/**
 * Messages stored since the index last caught up (migration 0011's triggers add them; src/search/search-index.ts
 * indexes and removes them). Conversation titles are indexed by their triggers directly.
 */
export const searchQueue = sqliteTable('search_queue', { messageId: text('message_id').primaryKey() })
