import { and, asc, eq, gt } from 'drizzle-orm'
import type { Database } from '../database'
import { assistants } from '../schema'

export type AssistantRow = typeof assistants.$inferSelect

export async function insertAssistant(db: Database, row: AssistantRow): Promise<void> {
  await db.insert(assistants).values(row)
}

export async function findAssistant(db: Database, id: string): Promise<AssistantRow | undefined> {
  return db.select().from(assistants).where(eq(assistants.id, id)).get()
}

export async function listAssistants(db: Database, workspaceId: string, page: { after: string | null; limit: number }): Promise<AssistantRow[]> {
  return db
    .select()
    .from(assistants)
    .where(and(eq(assistants.workspaceId, workspaceId), page.after ? gt(assistants.id, page.after) : undefined))
    .orderBy(asc(assistants.id))
    .limit(page.limit + 1)
    .all()
}

export async function updateAssistant(db: Database, id: string, changes: Partial<Omit<AssistantRow, 'id' | 'workspaceId' | 'createdAt'>>): Promise<void> {
  await db.update(assistants).set(changes).where(eq(assistants.id, id))
}

export async function deleteAssistant(db: Database, id: string): Promise<void> {
  await db.delete(assistants).where(eq(assistants.id, id))
}
