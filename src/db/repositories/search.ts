import { and, eq, inArray, or, sql, type Placeholder, type SQL } from 'drizzle-orm'
import type { Database } from '../database'
import { conversations, memberships } from '../schema'

/**
 * Whose conversations a reader sees: their own, and shared ones in workspaces they belong to (optionally one). The
 * values may be placeholders, for a prepared statement.
 */
export interface Reader {
  userId: string | Placeholder
  workspaceId: string | Placeholder | null
}

/** The conversations `reader` may read, as a condition on `conversations`. */
export function readableBy(db: Database, reader: Reader): SQL {
  const myWorkspaces = db.select({ id: memberships.workspaceId }).from(memberships).where(eq(memberships.userId, reader.userId))
  return and(
    inArray(conversations.workspaceId, myWorkspaces),
    or(eq(conversations.userId, reader.userId), eq(conversations.visibility, 'workspace')),
    reader.workspaceId ? eq(conversations.workspaceId, reader.workspaceId) : undefined,
  )!
}

/** The conversations with an indexed title or message matching an FTS5 query (ftsQuery), as SQL selecting their ids. */
export function matchingConversationIds(match: string | Placeholder): SQL {
  return sql`select d.conversation_id from search_index cross join search_documents d on d.id = search_index.rowid where search_index match ${match}`
}

export interface SearchHit {
  /** The index document: the cursor's tie-breaker. */
  documentId: number
  conversationId: string
  /** Null for a title. */
  messageId: string | null
  snippet: string
  /** FTS5's bm25: lower is better. */
  rank: number
}

/** Whether messages wait in the search queue (migration 0011's triggers fill it). */
export async function hasQueuedMessages(db: Database): Promise<boolean> {
  const row = await db.get<{ queued: number }>(sql`select exists (select 1 from search_queue) as queued`)
  return Boolean(row?.queued)
}

/** A message's indexed text: its text parts, one per line. */
const MESSAGE_BODY = sql`(select group_concat(json_extract(p.value, '$.text'), char(10)) from json_each(m.parts) p where json_extract(p.value, '$.type') = 'text')`

/** Indexes the queued messages in one batch: each one's old document out, its current text in, the queue emptied. */
export async function indexQueuedMessages(db: Database): Promise<void> {
  const queued = sql`select message_id from search_queue`
  await db.batch([
    db.run(sql`delete from search_index where rowid in (select id from search_documents where message_id in (${queued}))`),
    db.run(sql`delete from search_documents where message_id in (${queued})`),
    db.run(sql`insert into search_documents (conversation_id, message_id) select m.conversation_id, m.id from search_queue q join messages m on m.id = q.message_id`),
    db.run(sql`insert into search_index (rowid, body) select d.id, ${MESSAGE_BODY} from search_queue q join search_documents d on d.message_id = q.message_id join messages m on m.id = q.message_id`),
    db.run(sql`delete from search_queue`),
  ])
}

/** Words of context around the match in a snippet. */
const SNIPPET_TOKENS = 16

/** Titles and messages matching `match` in conversations `reader` may read, best first, `limit + 1` rows. */
export async function searchIndex(
  db: Database,
  reader: Reader,
  match: string,
  page: { after: { rank: number; documentId: number } | null; limit: number },
): Promise<SearchHit[]> {
  const after = page.after
  const rows = await db.all<{ document_id: number; conversation_id: string; message_id: string | null; snippet: string; rank: number }>(sql`
    select * from (
      select d.id as document_id, d.conversation_id, d.message_id,
        snippet(search_index, 0, '', '', '…', ${SNIPPET_TOKENS}) as snippet, bm25(search_index) as rank
      from search_index
      cross join search_documents d on d.id = search_index.rowid
      cross join ${conversations} on ${conversations.id} = d.conversation_id
      where search_index match ${match} and ${readableBy(db, reader)}
    )
    ${after ? sql`where rank > ${after.rank} or (rank = ${after.rank} and document_id > ${after.documentId})` : sql``}
    order by rank, document_id
    limit ${page.limit + 1}`)
  return rows.map((row) => ({
    documentId: Number(row.document_id),
    conversationId: row.conversation_id,
    messageId: row.message_id,
    snippet: row.snippet ?? '',
    rank: Number(row.rank),
  }))
}
