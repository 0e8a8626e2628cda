import { and, asc, eq, gt } from 'drizzle-orm'
import type { Database } from '../database'
import { mcpServers } from '../schema'

export type McpServerRow = typeof mcpServers.$inferSelect

/** False when the workspace already has a server of that name. */
export async function insertMcpServer(db: Database, row: McpServerRow): Promise<boolean> {
  const rows = await db.insert(mcpServers).values(row).onConflictDoNothing().returning({ id: mcpServers.id })
  return rows.length === 1
}

export async function findMcpServer(db: Database, workspaceId: string, id: string): Promise<McpServerRow | undefined> {
  return db
    .select()
    .from(mcpServers)
    .where(and(eq(mcpServers.id, id), eq(mcpServers.workspaceId, workspaceId)))
    .get()
}

export async function listMcpServers(db: Database, workspaceId: string, page: { after: string | null; limit: number }): Promise<McpServerRow[]> {
  return db
    .select()
    .from(mcpServers)
    .where(and(eq(mcpServers.workspaceId, workspaceId), page.after ? gt(mcpServers.id, page.after) : undefined))
    .orderBy(asc(mcpServers.id))
    .limit(page.limit + 1)
    .all()
}

export async function allMcpServers(db: Database, workspaceId: string): Promise<McpServerRow[]> {
  return db.select().from(mcpServers).where(eq(mcpServers.workspaceId, workspaceId)).orderBy(asc(mcpServers.name)).all()
}

/** False when the new name is taken in the workspace. */
export async function updateMcpServer(db: Database, id: string, changes: Partial<Omit<McpServerRow, 'id' | 'workspaceId' | 'createdAt'>>): Promise<boolean> {
  try {
    await db.update(mcpServers).set(changes).where(eq(mcpServers.id, id))
    return true
  } catch (error) {
    if (/UNIQUE/i.test(String((error as { cause?: unknown }).cause ?? error))) return false
    throw error
  }
}

export async function deleteMcpServer(db: Database, id: string): Promise<void> {
  await db.delete(mcpServers).where(eq(mcpServers.id, id))
}
