import { sqliteTable, text, integer, primaryKey } from 'drizzle-orm/sqlite-core'

/**
 * The ledger's sums per limited subject (`ws:<workspace>`, `member:<workspace>:<user>`, `key:<api key>`) and UTC day,
 * kept by a trigger on usage_records (migrations/0007_governance.sql): only rows really inserted count, so a
 * retried ledger write counts once. Budgets read at most a month of these rows instead of the ledger itself.
 */
export const usageDaily = sqliteTable(
  'usage_daily',
  {
    subject: text('subject').notNull(),
    /** Days since the Unix epoch (UTC). */
    day: integer('day').notNull(),
    costPicoUsd: integer('cost_pico_usd').notNull(),
    tokens: integer('tokens').notNull(),
  },
  (table) => [primaryKey({ columns: [table.subject, table.day] })],
)
