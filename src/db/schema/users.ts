import { sqliteTable, text, integer } from 'drizzle-orm/sqlite-core'

export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  /** Stored lower-cased, so uniqueness is case-insensitive. */
  email: text('email').notNull().unique(),
  name: text('name'),
  /** Null for users who only sign in through the external OIDC issuer. */
  passwordHash: text('password_hash'),
  /** `${issuer}|${sub}` for users provisioned from an external OIDC token. */
  externalSubject: text('external_subject').unique(),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
})
