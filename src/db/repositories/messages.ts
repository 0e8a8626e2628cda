import { and, asc, eq, gt, sql } from 'drizzle-orm'
import type { Database } from '../database'
import { prepared } from '../prepared'
import { messages } from '../schema'

export type MessageRow = typeof messages.$inferSelect

export async function findMessage(db: Database, id: string): Promise<MessageRow | undefined> {
  return db.select().from(messages).where(eq(messages.id, id)).get()
}

export async function listMessages(db: Database, conversationId: string, page: { after: string | null; limit: number }): Promise<MessageRow[]> {
  return db
    .select()
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), page.after ? gt(messages.id, page.after) : undefined))
    .orderBy(asc(messages.id))
    .limit(page.limit + 1)
    .all()
}

export async function allMessages(db: Database, conversationId: string): Promise<MessageRow[]> {
  const statement = prepared(db, 'allMessages', () =>
    db.select().from(messages).where(eq(messages.conversationId, sql.placeholder('conversationId'))).orderBy(asc(messages.id)).prepare(),
  )
  return statement.all({ conversationId })
}

/** What a turn needs of the messages before it: the tree (id, parentId) and what goes to the model. */
export type HistoryMessage = Pick<MessageRow, 'id' | 'parentId' | 'role' | 'parts' | 'status'>

export async function conversationHistory(db: Database, conversationId: string): Promise<HistoryMessage[]> {
  const statement = prepared(db, 'conversationHistory', () =>
    db
      .select({ id: messages.id, parentId: messages.parentId, role: messages.role, parts: messages.parts, status: messages.status })
      .from(messages)
      .where(eq(messages.conversationId, sql.placeholder('conversationId')))
      .orderBy(asc(messages.id))
      .prepare(),
  )
  return statement.all({ conversationId })
}

export async function setFeedback(db: Database, id: string, feedback: { rating: 'up' | 'down' | null; comment: string | null }): Promise<void> {
  await db.update(messages).set({ feedbackRating: feedback.rating, feedbackComment: feedback.comment }).where(eq(messages.id, id))
}

/** Saves partial output of a running generation; never overwrites a finalized message. */
export async function checkpointMessage(db: Database, id: string, parts: unknown[], now: Date): Promise<void> {
  await db.update(messages).set({ parts, updatedAt: now }).where(and(eq(messages.id, id), eq(messages.status, 'streaming')))
}
