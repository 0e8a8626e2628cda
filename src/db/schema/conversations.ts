import { sqliteTable, text, integer, index, uniqueIndex } from 'drizzle-orm/sqlite-core'
import type { InferenceConfig } from '../../models/model-client'
import { users } from './users'
import { workspaces } from './workspaces'

export const conversations = sqliteTable(
  'conversations',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    assistantId: text('assistant_id'),
    title: text('title'),
    modelId: text('model_id'),
    systemPrompt: text('system_prompt'),
    /** Copied from its assistant at creation: inference settings, server-side tool names, task (null: none, `chat`). */
    inference: text('inference', { mode: 'json' }).$type<InferenceConfig>(),
    tools: text('tools', { mode: 'json' }).$type<string[]>(),
    task: text('task'),
    visibility: text('visibility', { enum: ['private', 'workspace'] }).notNull().default('private'),
    archived: integer('archived', { mode: 'boolean' }).notNull().default(false),
    activeGenerationId: text('active_generation_id'),
    metadata: text('metadata', { mode: 'json' }).$type<Record<string, unknown>>(),
    /** UTF-8 bytes of its messages' stored parts, kept by the writes of a turn (MAX_CONVERSATION_BYTES caps it). */
    storedBytes: integer('stored_bytes').notNull().default(0),
    /** The chat id an AI SDK client chose for it (POST /v1/ui/chat with an id that is not a conversation id). */
    clientChatId: text('client_chat_id'),
    /** The message the conversation shows and continues (the newest turn's answer, or where PATCH moved it). */
    currentLeafId: text('current_leaf_id'),
    /** Who gave the title: the user (never replaced), the first message's words, or the title model. */
    titleSource: text('title_source', { enum: ['user', 'derived', 'generated'] }),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [
    index('conversations_workspace_activity_idx').on(table.workspaceId, table.updatedAt, table.id),
    index('conversations_user_activity_idx').on(table.userId, table.updatedAt, table.id),
    uniqueIndex('conversations_client_chat_idx').on(table.userId, table.clientChatId),
  ],
)
