import { and, desc, eq, isNull, lt, or, sql } from 'drizzle-orm'
import type { Database } from '../database'
import { prepared } from '../prepared'
import { conversations, generations, memberships, messages, type Role } from '../schema'
import { matchingConversationIds, readableBy } from './search'

export type ConversationRow = typeof conversations.$inferSelect

/** The columns a conversation is shown with (render.ts), all a list reads. */
const shownColumns = {
  id: conversations.id,
  workspaceId: conversations.workspaceId,
  userId: conversations.userId,
  assistantId: conversations.assistantId,
  title: conversations.title,
  modelId: conversations.modelId,
  systemPrompt: conversations.systemPrompt,
  visibility: conversations.visibility,
  archived: conversations.archived,
  activeGenerationId: conversations.activeGenerationId,
  currentLeafId: conversations.currentLeafId,
  metadata: conversations.metadata,
  createdAt: conversations.createdAt,
  updatedAt: conversations.updatedAt,
}
export type ShownConversation = Pick<ConversationRow, keyof typeof shownColumns>

export async function insertConversation(db: Database, row: ConversationRow): Promise<void> {
  await db.insert(conversations).values(row)
}

export async function findConversation(db: Database, id: string): Promise<ConversationRow | undefined> {
  return db.select().from(conversations).where(eq(conversations.id, id)).get()
}

/** The conversation with the user's role in its workspace (null when not a member), in one query. */
export async function findConversationForUser(
  db: Database,
  id: string,
  userId: string,
): Promise<{ conversation: ConversationRow; role: Role | null } | undefined> {
  const statement = prepared(db, 'findConversationForUser', () =>
    db
      .select({ conversation: conversations, role: memberships.role })
      .from(conversations)
      .leftJoin(memberships, and(eq(memberships.workspaceId, conversations.workspaceId), eq(memberships.userId, sql.placeholder('userId'))))
      .where(eq(conversations.id, sql.placeholder('id')))
      .prepare(),
  )
  return statement.get({ id, userId })
}

export async function updateConversation(
  db: Database,
  id: string,
  changes: Partial<Pick<ConversationRow, 'title' | 'titleSource' | 'archived' | 'visibility' | 'metadata' | 'currentLeafId' | 'updatedAt'>>,
): Promise<void> {
  await db.update(conversations).set(changes).where(eq(conversations.id, id))
}

export async function deleteConversation(db: Database, id: string): Promise<void> {
  await db.batch([
    db.delete(messages).where(eq(messages.conversationId, id)),
    db.delete(generations).where(eq(generations.conversationId, id)),
    db.delete(conversations).where(eq(conversations.id, id)),
  ])
}

export interface ConversationListQuery {
  userId: string
  workspaceId: string | null
  archived: boolean
  /** An FTS5 query (ftsQuery) over titles and message text; null lists everything. */
  match: string | null
  after: { updatedAt: number; id: string } | null
  limit: number
}

/**
 * Conversations the user may see (their own, and shared ones in workspaces they belong to), newest activity
 * first, keyset-paginated on (updatedAt, id). `match` keeps those whose title or message text the full-text index
 * matches.
 */
export async function listVisibleConversations(db: Database, query: ConversationListQuery): Promise<ShownConversation[]> {
  // Prepared once per shape (a listing is the most frequent read). Placeholders in conditions bypass the columns'
  // encoders: the values are given as stored (archived 0/1, updatedAt in ms).
  const shape = `listVisibleConversations:${query.workspaceId ? 'workspace' : 'any'}:${query.after ? 'after' : 'first'}:${query.match ? 'match' : 'all'}`
  const build = () =>
    db
      .select(shownColumns)
      .from(conversations)
      .where(
        and(
          readableBy(db, { userId: sql.placeholder('userId'), workspaceId: query.workspaceId ? sql.placeholder('workspaceId') : null }),
          eq(conversations.archived, sql.placeholder('archived')),
          query.match ? sql`${conversations.id} in (${matchingConversationIds(sql.placeholder('match'))})` : undefined,
          query.after
            ? or(
                lt(conversations.updatedAt, sql.placeholder('afterUpdatedAt')),
                and(eq(conversations.updatedAt, sql.placeholder('afterUpdatedAt')), lt(conversations.id, sql.placeholder('afterId'))),
              )
            : undefined,
        ),
      )
      .orderBy(desc(conversations.updatedAt), desc(conversations.id))
      .limit(sql.placeholder('limit'))
      .prepare()
  return prepared(db, shape, build).all({
    userId: query.userId,
    workspaceId: query.workspaceId,
    archived: query.archived ? 1 : 0,
    match: query.match,
    afterUpdatedAt: query.after?.updatedAt ?? null,
    afterId: query.after?.id ?? null,
    limit: query.limit + 1,
  })
}

/** The user's conversation that an AI SDK client names by its own chat id, if any. */
export async function findConversationIdByClientChatId(db: Database, userId: string, clientChatId: string): Promise<string | undefined> {
  const row = await db
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.userId, userId), eq(conversations.clientChatId, clientChatId)))
    .get()
  return row?.id
}

/** Stores a generated title unless the user titled the conversation (or a title was generated) meanwhile. */
export async function setGeneratedTitle(db: Database, id: string, title: string): Promise<boolean> {
  const result = await db
    .update(conversations)
    .set({ title, titleSource: 'generated' })
    .where(and(eq(conversations.id, id), or(isNull(conversations.titleSource), eq(conversations.titleSource, 'derived'))))
    .returning({ id: conversations.id })
  return result.length > 0
}
