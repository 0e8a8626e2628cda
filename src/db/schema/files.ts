import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { workspaces } from './workspaces'

/** Uploaded files and media moved out of message rows; their bytes are in the blob store under `sha256`. */
export const files = sqliteTable(
  'files',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    /** Set for an inline image or document a turn moved to the blob store: deleted with its conversation. */
    conversationId: text('conversation_id'),
    name: text('name').notNull(),
    mediaType: text('media_type').notNull(),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [index('files_workspace_idx').on(table.workspaceId), index('files_conversation_idx').on(table.conversationId), index('files_sha256_idx').on(table.sha256)],
)
