import { sqliteTable, text, integer, index } from 'drizzle-orm/sqlite-core'
import { users } from './users'
import { workspaces } from './workspaces'

/** What an API key may do: `read` (every GET), `chat` (conversations, turns), `admin` (workspaces, members, invitations). */
export const scopes = ['read', 'chat', 'admin'] as const
export type Scope = (typeof scopes)[number]

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** When set, the key only reaches this workspace. */
    workspaceId: text('workspace_id').references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull().unique(),
    /** A JSON array of scopes; keys created before scopes existed have all three. */
    scopes: text('scopes', { mode: 'json' }).$type<Scope[]>().notNull().default(['read', 'chat', 'admin']),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [index('api_keys_user_idx').on(table.userId)],
)
