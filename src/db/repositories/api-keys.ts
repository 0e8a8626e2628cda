import { and, asc, eq, gt } from 'drizzle-orm'
import type { Database } from '../database'
import { apiKeys } from '../schema'

export type ApiKeyRow = typeof apiKeys.$inferSelect

export async function insertApiKey(db: Database, row: typeof apiKeys.$inferInsert): Promise<void> {
  await db.insert(apiKeys).values(row)
}

export async function findApiKeyByHash(db: Database, keyHash: string): Promise<ApiKeyRow | undefined> {
  return db.select().from(apiKeys).where(eq(apiKeys.keyHash, keyHash)).get()
}

export async function listApiKeys(db: Database, userId: string, page: { after: string | null; limit: number }): Promise<ApiKeyRow[]> {
  return db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.userId, userId), page.after ? gt(apiKeys.id, page.after) : undefined))
    .orderBy(asc(apiKeys.id))
    .limit(page.limit + 1)
    .all()
}

export async function deleteApiKey(db: Database, userId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId)))
    .returning({ id: apiKeys.id })
  return rows.length === 1
}

export async function touchApiKey(db: Database, id: string, now: Date): Promise<void> {
  await db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, id))
}
