import { and, count, eq, sum } from 'drizzle-orm'
import type { Database } from '../database'
import { files } from '../schema'

export type FileRow = typeof files.$inferSelect

export async function insertFile(db: Database, row: FileRow): Promise<void> {
  await db.insert(files).values(row)
}

export async function findFile(db: Database, id: string): Promise<FileRow | undefined> {
  return db.select().from(files).where(eq(files.id, id)).get()
}

/** Bytes of the workspace's files. */
export async function workspaceFileBytes(db: Database, workspaceId: string): Promise<number> {
  const row = await db.select({ bytes: sum(files.size) }).from(files).where(eq(files.workspaceId, workspaceId)).get()
  return Number(row?.bytes ?? 0)
}

/** Deletes file rows; returns the blob keys no remaining file uses (the caller removes those blobs). */
async function deleteRows(db: Database, rows: readonly Pick<FileRow, 'id' | 'sha256'>[]): Promise<string[]> {
  if (rows.length === 0) return []
  await db.batch(rows.map((row) => db.delete(files).where(eq(files.id, row.id))) as [never, ...never[]])
  const unused: string[] = []
  for (const sha256 of new Set(rows.map((row) => row.sha256))) {
    const left = await db.select({ n: count() }).from(files).where(eq(files.sha256, sha256)).get()
    if (!left?.n) unused.push(sha256)
  }
  return unused
}

export async function deleteFile(db: Database, row: Pick<FileRow, 'id' | 'sha256'>): Promise<string[]> {
  return deleteRows(db, [row])
}

/** The files a conversation's turns moved out of its messages, deleted with it. */
export async function deleteConversationFiles(db: Database, conversationId: string): Promise<string[]> {
  const rows = await db.select({ id: files.id, sha256: files.sha256 }).from(files).where(eq(files.conversationId, conversationId)).all()
  return deleteRows(db, rows)
}

/** Files of one workspace by id (the others are absent from the map). */
export async function filesInWorkspace(db: Database, workspaceId: string, ids: readonly string[]): Promise<Map<string, FileRow>> {
  const found = new Map<string, FileRow>()
  for (const id of new Set(ids)) {
    const row = await db.select().from(files).where(and(eq(files.id, id), eq(files.workspaceId, workspaceId))).get()
    if (row) found.set(id, row)
  }
  return found
}
