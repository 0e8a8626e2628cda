import { sqliteTable, text, integer, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { workspaces } from './workspaces'

/** A remote MCP server (Streamable HTTP) whose tools a workspace's assistants may name as mcp__{name}__{tool}. */
export const mcpServers = sqliteTable(
  'mcp_servers',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    url: text('url').notNull(),
    /** The request headers (a JSON object), encrypted with AES-GCM (src/tools/secrets.ts); null when none. */
    headers: text('headers'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [uniqueIndex('mcp_servers_workspace_name_idx').on(table.workspaceId, table.name)],
)
