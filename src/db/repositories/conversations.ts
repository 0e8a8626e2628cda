import { and, desc, eq, inArray, lt, lte, or, sql } from 'drizzle-orm'
import type { Database } from '../database'
import { prepared } from '../prepared'
import { conversations, generations, memberships, messages, type Role } from '../schema'

export type ConversationRow = typeof conversations.$inferSelect

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

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (char) => `\\${char}`)

/**
 * What a `q` search reads of message text, until full-text search lands: the newest messages of the conversations
 * it may list, at most this many and this many bytes of stored parts (sizes come from the row headers, unread). The
 * scan runs on the event loop, so its cost must not grow with everything ever stored.
 */
export const SEARCH_SCAN_MESSAGES = 5_000
export const SEARCH_SCAN_BYTES = 32 * 1024 * 1024

export interface ConversationListQuery {
  userId: string
  workspaceId: string | null
  archived: boolean
  q: string | null
  after: { updatedAt: number; id: string } | null
  limit: number
}

/**
 * Conversations the user may see (their own, and shared ones in workspaces they belong to), newest activity
 * first, keyset-paginated on (updatedAt, id). `q` matches titles and the text of message parts.
 */
export async function listVisibleConversations(db: Database, query: ConversationListQuery): Promise<ConversationRow[]> {
  const myWorkspaces = db.select({ id: memberships.workspaceId }).from(memberships).where(eq(memberships.userId, query.userId))
  const pattern = query.q ? `%${escapeLike(query.q)}%` : null
  // Parts are stored as JSON, which spells the query as JSON.stringify does: a row whose raw text does not contain
  // that spelling cannot match, and is skipped without parsing it (image bytes included).
  const encoded = query.q ? `%${escapeLike(JSON.stringify(query.q).slice(1, -1))}%` : null
  const visible = and(
    inArray(conversations.workspaceId, myWorkspaces),
    or(eq(conversations.userId, query.userId), eq(conversations.visibility, 'workspace')),
    query.workspaceId ? eq(conversations.workspaceId, query.workspaceId) : undefined,
  )
  const newest = db
    .select({ id: messages.id, bytes: sql<number>`sum(octet_length(${messages.parts})) over (order by ${messages.id} desc)`.as('bytes') })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(visible)
    .orderBy(desc(messages.id))
    .limit(SEARCH_SCAN_MESSAGES)
    .as('newest')
  const matching = db
    .select({ id: messages.conversationId })
    .from(messages)
    .where(
      and(
        inArray(messages.id, db.select({ id: newest.id }).from(newest).where(lte(newest.bytes, SEARCH_SCAN_BYTES))),
        sql`${messages.parts} like ${encoded} escape '\\'`,
        sql`exists (select 1 from json_each(${messages.parts}) as part where json_extract(part.value, '$.text') like ${pattern} escape '\\')`,
      ),
    )
  return db
    .select()
    .from(conversations)
    .where(
      and(
        visible,
        eq(conversations.archived, query.archived),
        pattern
          ? or(
              sql`${conversations.title} like ${pattern} escape '\\'`,
              inArray(conversations.id, matching),
            )
          : undefined,
        query.after
          ? or(
              lt(conversations.updatedAt, new Date(query.after.updatedAt)),
              and(eq(conversations.updatedAt, new Date(query.after.updatedAt)), lt(conversations.id, query.after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(conversations.updatedAt), desc(conversations.id))
    .limit(query.limit + 1)
    .all()
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
