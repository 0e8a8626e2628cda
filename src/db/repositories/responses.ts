import { eq, sql } from 'drizzle-orm'
import type { Database } from '../database'
import { conversations, messages, responses } from '../schema'
import { partsBytes } from './messages'

export type NewMessage = typeof messages.$inferInsert

export type ResponseRow = typeof responses.$inferSelect

export async function insertResponse(db: Database, row: ResponseRow): Promise<void> {
  await db.insert(responses).values(row)
}

export async function findResponse(db: Database, id: string): Promise<ResponseRow | undefined> {
  return db.select().from(responses).where(eq(responses.id, id)).get()
}

export async function deleteResponse(db: Database, id: string): Promise<void> {
  await db.delete(responses).where(eq(responses.id, id))
}

/** A private conversation for a new chain of responses (`metadata.source: "responses"`). */
export async function insertResponsesConversation(db: Database, row: { id: string; workspaceId: string; userId: string; createdAt: Date }): Promise<void> {
  await db.insert(conversations).values({ ...row, metadata: { source: 'responses' }, updatedAt: row.createdAt })
}

/**
 * Earlier messages a request's input carried (the history before its new user message), stored in the conversation
 * in one batch, with their bytes counted in `stored_bytes`.
 */
export async function insertInputHistory(db: Database, conversationId: string, rows: NewMessage[]): Promise<void> {
  const [first, ...rest] = rows
  if (!first) return
  const added = rows.reduce((sum, row) => sum + partsBytes(row.parts), 0)
  await db.batch([
    db.insert(messages).values([first, ...rest]),
    db
      .update(conversations)
      .set({ storedBytes: sql`${conversations.storedBytes} + ${added}` })
      .where(eq(conversations.id, conversationId)),
  ])
}
