import { sqliteTable, text, integer, index } from 'drizzle-orm/sqlite-core'
import type { InferenceConfig } from '../../models/model-client'
import { users } from './users'
import { workspaces } from './workspaces'

/** A workspace's chatbot preset: a conversation created with it copies these values (deleting it breaks nothing). */
export const assistants = sqliteTable(
  'assistants',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    modelId: text('model_id'),
    systemPrompt: text('system_prompt'),
    inference: text('inference', { mode: 'json' }).$type<InferenceConfig>().notNull(),
    /** Names of server-side tools (built-in, or mcp__{server}__{tool}). */
    tools: text('tools', { mode: 'json' }).$type<string[]>().notNull(),
    task: text('task').notNull().default('chat'),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [index('assistants_workspace_idx').on(table.workspaceId, table.id)],
)
