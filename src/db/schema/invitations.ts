import { sqliteTable, text, integer, index, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { roles } from './memberships'
import { users } from './users'
import { workspaces } from './workspaces'

/**
 * Pending invitations to a workspace, one per (workspace, email). Accepting, declining or revoking deletes the
 * row; an expired row is ignored and is replaced by the next invitation to the same email.
 */
export const invitations = sqliteTable(
  'invitations',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    /** Normalized like users' emails, so matching is case-insensitive. */
    email: text('email').notNull(),
    role: text('role', { enum: roles }).notNull(),
    invitedBy: text('invited_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [uniqueIndex('invitations_workspace_email_unique').on(table.workspaceId, table.email), index('invitations_email_idx').on(table.email)],
)
