import { sqliteTable, text, integer } from 'drizzle-orm/sqlite-core'

export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  /** Stored normalized (src/lib/email.ts: NFKC, lower case, ASCII domain), so uniqueness ignores those differences. */
  email: text('email').notNull().unique(),
  name: text('name'),
  /** Null for users who only sign in through the external OIDC issuer. */
  passwordHash: text('password_hash'),
  /** `${issuer}|${sub}` for users provisioned from an external OIDC token. */
  externalSubject: text('external_subject').unique(),
  /** Access tokens carry the generation they were issued under; logout-all and a password change increment it. */
  sessionGeneration: integer('session_generation').notNull().default(0),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
})
