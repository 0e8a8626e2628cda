import { sqliteTable, text, integer, index, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { workspaces } from './workspaces'

/**
 * The usage ledger: one row per model call. Cost is in pico-dollars (1e-12 USD), an integer: a catalog price in USD
 * per million tokens with up to six decimals is a whole number of pico-dollars per token, so cost = tokens × price
 * exactly. No foreign keys to users, keys or conversations: the ledger outlives what it names.
 */
export const usageRecords = sqliteTable(
  'usage_records',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    apiKeyId: text('api_key_id'),
    conversationId: text('conversation_id'),
    generationId: text('generation_id'),
    /** The model call's place in its generation (0 for the first; a tool loop adds one per step). */
    step: integer('step').notNull().default(0),
    modelId: text('model_id').notNull(),
    inputTokens: integer('input_tokens').notNull(),
    outputTokens: integer('output_tokens').notNull(),
    cacheReadTokens: integer('cache_read_tokens').notNull(),
    cacheWriteTokens: integer('cache_write_tokens').notNull(),
    costPicoUsd: integer('cost_pico_usd').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [
    index('usage_records_workspace_idx').on(table.workspaceId, table.createdAt),
    index('usage_records_member_idx').on(table.workspaceId, table.userId, table.createdAt),
    index('usage_records_api_key_idx').on(table.apiKeyId, table.createdAt),
    uniqueIndex('usage_records_call_idx').on(table.generationId, table.step),
  ],
)
