import { sqliteTable, text, integer } from 'drizzle-orm/sqlite-core'
import { workspaces } from './workspaces'

/** A workspace's limits (PUT /v1/workspaces/{id}/limits): `{workspace?, perMember?, perApiKey?}` as JSON. */
export const workspaceLimits = sqliteTable('workspace_limits', {
  workspaceId: text('workspace_id')
    .primaryKey()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  limits: text('limits', { mode: 'json' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
})
