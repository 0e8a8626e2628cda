import { and, asc, desc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm'
import type { Database } from '../database'
import { prepared } from '../prepared'
import { messageFeedback, messages } from '../schema'

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

/**
 * What a turn needs of the messages before it. Images and documents come without their bytes: `{type, format, name?,
 * bytes}` (see MediaStub) until the model request is built (messageParts).
 */
export type HistoryMessage = Pick<MessageRow, 'id' | 'parentId' | 'role' | 'parts' | 'status'>

/** An image or document part as the history query returns it: its decoded size instead of its data. */
export interface MediaStub {
  type: 'image' | 'document'
  format: string
  name?: string
  bytes: number
}

/**
 * The chain from `leafId` (default: the conversation's latest message) up to the root, oldest first, with media
 * bytes left in the database. Empty when `leafId` is not a message of this conversation.
 */
export async function conversationChain(db: Database, conversationId: string, leafId: string | null): Promise<HistoryMessage[]> {
  const rows = await db.all<{ id: string; parent_id: string | null; role: 'user' | 'assistant'; status: MessageRow['status']; parts: string }>(sql`
    -- CROSS JOIN keeps SQLite's join order: each step looks one parent up by primary key, instead of scanning the
    -- conversation's messages per step (and the final join the whole table), as the planner otherwise chose.
    with recursive chain(id, parent_id, depth) as (
      select id, parent_id, 0 from messages
      where conversation_id = ${conversationId}
        and id = coalesce(${leafId}, (select id from messages where conversation_id = ${conversationId} order by id desc limit 1))
      union all
      select m.id, m.parent_id, chain.depth + 1 from chain cross join messages m on m.id = chain.parent_id
      where m.conversation_id = ${conversationId} and chain.depth < 1000000
    )
    select m.id, m.parent_id, m.role, m.status,
      -- Only parts with media are rebuilt (a media part's "type" key is written unescaped; text never holds one).
      case when instr(m.parts, '"type":"image"') or instr(m.parts, '"type":"document"') then
        (select json_group_array(
            case when json_extract(p.value, '$.type') in ('image', 'document')
              then json_set(json_remove(p.value, '$.data'), '$.bytes', length(json_extract(p.value, '$.data')) * 3 / 4)
              else json(p.value) end)
          from json_each(m.parts) p)
      else m.parts end as parts
    from chain cross join messages m on m.id = chain.id
    order by chain.depth desc`)
  return rows.map((row) => ({ id: row.id, parentId: row.parent_id, role: row.role, status: row.status, parts: JSON.parse(row.parts) as unknown[] }))
}

/** The stored parts of these messages, media bytes included, by id. */
export async function messageParts(db: Database, ids: readonly string[]): Promise<Map<string, unknown[]>> {
  if (ids.length === 0) return new Map()
  const rows = await db.select({ id: messages.id, parts: messages.parts }).from(messages).where(inArray(messages.id, [...ids])).all()
  return new Map(rows.map((row) => [row.id, row.parts]))
}

/** What `parts` adds to a conversation's stored size: the UTF-8 bytes of their JSON, as the messages table holds it. */
export function partsBytes(parts: readonly unknown[]): number {
  const json = JSON.stringify(parts)
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u007f]/.test(json) ? new TextEncoder().encode(json).byteLength : json.length
}

export type Rating = 'up' | 'down'

/** What a reader sees of a message's feedback: their own rating, and everyone's counts. */
export interface FeedbackView {
  own: { rating: Rating; comment: string | null } | null
  up: number
  down: number
}

export const NO_FEEDBACK: FeedbackView = { own: null, up: 0, down: 0 }

/** The caller's rating (or none) of one message; one per user per message. */
export async function setFeedback(db: Database, messageId: string, userId: string, feedback: { rating: Rating; comment: string | null } | null, now: Date): Promise<void> {
  if (!feedback) {
    await db.delete(messageFeedback).where(and(eq(messageFeedback.messageId, messageId), eq(messageFeedback.userId, userId)))
    return
  }
  await db
    .insert(messageFeedback)
    .values({ messageId, userId, ...feedback, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: [messageFeedback.messageId, messageFeedback.userId], set: { ...feedback, updatedAt: now } })
}

/** Feedback of these messages as `userId` sees it, in one query; messages nobody rated are absent. */
export async function feedbackFor(db: Database, messageIds: readonly string[], userId: string): Promise<Map<string, FeedbackView>> {
  const views = new Map<string, FeedbackView>()
  if (messageIds.length === 0) return views
  const mine = sql`${messageFeedback.userId} = ${userId}`
  const rows = await db
    .select({
      messageId: messageFeedback.messageId,
      up: sql<number>`sum(${messageFeedback.rating} = 'up')`,
      down: sql<number>`sum(${messageFeedback.rating} = 'down')`,
      rating: sql<Rating | null>`max(case when ${mine} then ${messageFeedback.rating} end)`,
      comment: sql<string | null>`max(case when ${mine} then ${messageFeedback.comment} end)`,
    })
    .from(messageFeedback)
    .where(inArray(messageFeedback.messageId, [...messageIds]))
    .groupBy(messageFeedback.messageId)
    .all()
  for (const row of rows) {
    views.set(row.messageId, { own: row.rating ? { rating: row.rating, comment: row.comment } : null, up: Number(row.up), down: Number(row.down) })
  }
  return views
}

/** Saves partial output of a running generation; never overwrites a finalized message. */
export async function checkpointMessage(db: Database, id: string, parts: unknown[], now: Date): Promise<void> {
  await db.update(messages).set({ parts, updatedAt: now }).where(and(eq(messages.id, id), eq(messages.status, 'streaming')))
}

/** The newest user message of the conversation answering `parentId` (null: a first message), if any. */
export async function latestUserChild(db: Database, conversationId: string, parentId: string | null): Promise<MessageRow | undefined> {
  return db
    .select()
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), eq(messages.role, 'user'), parentId === null ? isNull(messages.parentId) : eq(messages.parentId, parentId)))
    .orderBy(desc(messages.id))
    .limit(1)
    .get()
}

/**
 * The chain from `leafId` (null: the conversation's latest message) up to the root, as SQL selecting its ids: the
 * branch root → leaf. A child is always stored after its parent, so the branch in id order is root → leaf.
 */
function branchIds(conversationId: string, leafId: string | null) {
  return sql`with recursive chain(id, parent_id, depth) as (
      select id, parent_id, 0 from messages
      where conversation_id = ${conversationId}
        and id = coalesce(${leafId}, (select id from messages where conversation_id = ${conversationId} order by id desc limit 1))
      union all
      select m.id, m.parent_id, chain.depth + 1 from chain cross join messages m on m.id = chain.parent_id
      where m.conversation_id = ${conversationId} and chain.depth < 1000000
    ) select id from chain`
}

/** A page of the branch ending at `leafId` (null: the latest message), root first, `limit + 1` rows. */
export async function listBranch(db: Database, conversationId: string, leafId: string | null, page: { after: string | null; limit: number }): Promise<MessageRow[]> {
  return db
    .select()
    .from(messages)
    .where(and(sql`${messages.id} in (${branchIds(conversationId, leafId)})`, page.after ? gt(messages.id, page.after) : undefined))
    .orderBy(asc(messages.id))
    .limit(page.limit + 1)
    .all()
}

/** The ids of the branch ending at `leafId` (null: the latest message), root first. */
export async function branchMessageIds(db: Database, conversationId: string, leafId: string | null): Promise<string[]> {
  const rows = await db.all<{ id: string }>(sql`select id from (${branchIds(conversationId, leafId)}) order by id`)
  return rows.map((row) => row.id)
}

/** These messages, in the order of `ids`. */
export async function messagesByIds(db: Database, ids: readonly string[]): Promise<MessageRow[]> {
  if (ids.length === 0) return []
  const rows = await db.select().from(messages).where(inArray(messages.id, [...ids])).all()
  const byId = new Map(rows.map((row) => [row.id, row]))
  return ids.flatMap((id) => byId.get(id) ?? [])
}

/** Each message's siblings (the messages of the same parent, itself included), oldest first, by message id. */
export async function siblingIds(db: Database, conversationId: string, rows: readonly Pick<MessageRow, 'id' | 'parentId'>[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>()
  if (rows.length === 0) return result
  const parents = [...new Set(rows.map((row) => row.parentId).filter((id): id is string => id !== null))]
  const hasRoot = rows.some((row) => row.parentId === null)
  const siblings = await db
    .select({ id: messages.id, parentId: messages.parentId })
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, conversationId),
        or(parents.length > 0 ? inArray(messages.parentId, parents) : undefined, hasRoot ? isNull(messages.parentId) : undefined),
      ),
    )
    .orderBy(asc(messages.id))
    .all()
  const byParent = new Map<string | null, string[]>()
  for (const sibling of siblings) {
    const list = byParent.get(sibling.parentId) ?? []
    list.push(sibling.id)
    byParent.set(sibling.parentId, list)
  }
  for (const row of rows) result.set(row.id, byParent.get(row.parentId) ?? [row.id])
  return result
}

/** The newest leaf under `messageId` (itself when nothing answers it), following the newest reply at each level. */
export async function newestLeafUnder(db: Database, conversationId: string, messageId: string): Promise<string | undefined> {
  const rows = await db.all<{ id: string }>(sql`
    with recursive down(id, depth) as (
      select id, 0 from messages where conversation_id = ${conversationId} and id = ${messageId}
      union all
      select (select c.id from messages c where c.conversation_id = ${conversationId} and c.parent_id = down.id order by c.id desc limit 1), down.depth + 1
      from down where down.id is not null and down.depth < 1000000
    )
    select id from down where id is not null order by depth desc limit 1`)
  return rows[0]?.id
}
