import { and, eq, gte, inArray, isNotNull, isNull, lt, ne, sql } from 'drizzle-orm'
import type { Database } from '../database'
import { placeholder, prepared, rowPlaceholders, runPreparedBatch } from '../prepared'
import { conversations, generations, messages } from '../schema'
import type { MessageRow } from './messages'

export type GenerationRow = typeof generations.$inferSelect

export async function findGeneration(db: Database, id: string): Promise<GenerationRow | undefined> {
  return db.select().from(generations).where(eq(generations.id, id)).get()
}

/**
 * Starts a turn in one batch: claims the conversation (one active generation at a time, and a title from the first
 * message when it has none, `addedBytes` on its stored size as long as that stays within `maxBytes`), then inserts the
 * generation, the user message and the streaming assistant placeholder.
 * False, with nothing written, when another generation holds the conversation or the turn would make it too big.
 */
export async function insertTurn(
  db: Database,
  turn: {
    /** Null when the turn answers a user message already stored (an Idempotency-Key retry of a failed turn). */
    userMessage: MessageRow | null
    assistantMessage: MessageRow
    generation: GenerationRow
    titleIfUntitled: string | null
    addedBytes: number
    maxBytes: number
  },
): Promise<boolean> {
  const claim = prepared(db, 'insertTurn.claim', () =>
    db
      .update(conversations)
      .set({
        activeGenerationId: placeholder('id'),
        updatedAt: placeholder('startedAt'),
        title: sql`coalesce(${conversations.title}, ${sql.placeholder('title')})`,
        titleSource: sql`case when ${conversations.title} is null and ${sql.placeholder('title')} is not null then 'derived' else ${conversations.titleSource} end`,
        currentLeafId: placeholder('leafId'),
        storedBytes: sql`${conversations.storedBytes} + ${sql.placeholder('addedBytes')}`,
      })
      .where(
        and(
          eq(conversations.id, sql.placeholder('conversationId')),
          isNull(conversations.activeGenerationId),
          sql`${conversations.storedBytes} + ${sql.placeholder('addedBytes')} <= ${sql.placeholder('maxBytes')}`,
        ),
      )
      .prepare(),
  )
  // The claimed conversation's id, or NULL when the claim above found it busy: NOT NULL then aborts the batch.
  const insertGeneration = prepared(db, 'insertTurn.generation', () =>
    db
      .insert(generations)
      .values({
        ...rowPlaceholders(generations),
        conversationId: sql`(select ${conversations.id} from ${conversations} where ${conversations.id} = ${sql.placeholder('conversationId')} and ${conversations.activeGenerationId} = ${sql.placeholder('id')})`,
      })
      .prepare(),
  )
  const insertMessage = prepared(db, 'insertTurn.message', () => db.insert(messages).values(rowPlaceholders(messages)).prepare())
  const { generation } = turn
  try {
    await runPreparedBatch(db, [
      {
        statement: claim,
        values: {
          id: generation.id,
          conversationId: generation.conversationId,
          startedAt: generation.startedAt,
          title: turn.titleIfUntitled,
          leafId: turn.assistantMessage.id,
          addedBytes: turn.addedBytes,
          maxBytes: turn.maxBytes,
        },
      },
      { statement: insertGeneration, values: generation },
      ...(turn.userMessage ? [{ statement: insertMessage, values: turn.userMessage }] : []),
      { statement: insertMessage, values: turn.assistantMessage },
    ])
    return true
  } catch (error) {
    if (/NOT NULL constraint failed: generations\.conversation_id/.test(String(error))) return false
    throw error
  }
}

export interface Finalization {
  generationId: string
  conversationId: string
  assistantMessageId: string
  state: 'completed' | 'failed' | 'cancelled'
  messageStatus: 'complete' | 'incomplete' | 'failed' | 'cancelled'
  parts: unknown[]
  usage: { inputTokens: number; outputTokens: number } | null
  stopReason: string | null
  latencyMs: number | null
  errorCode: string | null
  /** What the final parts add to the conversation's stored size (the placeholder's `[]` already counted). */
  addedBytes: number
  now: Date
}

/**
 * Writes the final message, the generation outcome and frees the conversation, once, in one batch; `alongside` are
 * writes that must commit with it or not at all (the usage ledger's rows).
 */
export async function finalizeGeneration(db: Database, f: Finalization, alongside: Parameters<typeof runPreparedBatch>[1] = []): Promise<void> {
  const updateMessage = prepared(db, 'finalize.message', () =>
    db
      .update(messages)
      .set({
        parts: placeholder('parts'),
        status: placeholder('messageStatus'),
        inputTokens: placeholder('inputTokens'),
        outputTokens: placeholder('outputTokens'),
        stopReason: placeholder('stopReason'),
        latencyMs: placeholder('latencyMs'),
        updatedAt: placeholder('now'),
      })
      .where(and(eq(messages.id, sql.placeholder('assistantMessageId')), eq(messages.status, 'streaming')))
      .prepare(),
  )
  const updateGeneration = prepared(db, 'finalize.generation', () =>
    db
      .update(generations)
      .set({
        status: placeholder('state'),
        inputTokens: placeholder('inputTokens'),
        outputTokens: placeholder('outputTokens'),
        errorCode: placeholder('errorCode'),
        finishedAt: placeholder('now'),
      })
      .where(and(eq(generations.id, sql.placeholder('generationId')), eq(generations.status, 'running')))
      .prepare(),
  )
  const freeConversation = prepared(db, 'finalize.conversation', () =>
    db
      .update(conversations)
      .set({ activeGenerationId: null, updatedAt: placeholder('now'), storedBytes: sql`${conversations.storedBytes} + ${sql.placeholder('addedBytes')}` })
      .where(and(eq(conversations.id, sql.placeholder('conversationId')), eq(conversations.activeGenerationId, sql.placeholder('generationId'))))
      .prepare(),
  )
  const values = {
    ...f,
    inputTokens: f.usage?.inputTokens ?? null,
    outputTokens: f.usage?.outputTokens ?? null,
  }
  await runPreparedBatch(db, [
    { statement: updateMessage, values },
    { statement: updateGeneration, values },
    { statement: freeConversation, values },
    ...alongside,
  ])
}

/**
 * Closes generations whose producer is gone (a crash): their assistant message keeps its checkpointed parts and
 * becomes `incomplete`, the generation `failed`, the conversation free. `ids` limits the sweep (finalize on read);
 * `startedBefore` spares generations too young to have reached their hub yet.
 */
export async function sweepOrphanedGenerations(db: Database, now: Date, ids?: string[], startedBefore?: Date): Promise<number> {
  const orphans = await db
    .select({ id: generations.id, conversationId: generations.conversationId, assistantMessageId: generations.assistantMessageId })
    .from(generations)
    .where(
      and(
        eq(generations.status, 'running'),
        ids ? inArray(generations.id, ids) : undefined,
        startedBefore ? lt(generations.startedAt, startedBefore) : undefined,
      ),
    )
    .all()
  for (const orphan of orphans) {
    await db.batch([
      db
        .update(messages)
        .set({ status: 'incomplete', stopReason: 'interrupted', updatedAt: now })
        .where(and(eq(messages.id, orphan.assistantMessageId), eq(messages.status, 'streaming'))),
      db
        .update(generations)
        .set({ status: 'failed', errorCode: 'interrupted', finishedAt: now })
        .where(and(eq(generations.id, orphan.id), eq(generations.status, 'running'))),
      db
        .update(conversations)
        .set({
          activeGenerationId: null,
          // The checkpointed answer now counts, like a finalized one (its placeholder `[]` was counted at the start).
          storedBytes: sql`${conversations.storedBytes} + coalesce((select octet_length(${messages.parts}) - 2 from ${messages} where ${messages.id} = ${orphan.assistantMessageId}), 0)`,
        })
        .where(and(eq(conversations.id, orphan.conversationId), eq(conversations.activeGenerationId, orphan.id))),
    ])
  }
  return orphans.length
}

/** The generation a user started with this Idempotency-Key since `since`, if any. */
export async function findByIdempotencyKey(db: Database, userId: string, key: string, since: Date): Promise<GenerationRow | undefined> {
  return db
    .select()
    .from(generations)
    .where(and(eq(generations.userId, userId), eq(generations.idempotencyKey, key), gte(generations.startedAt, since)))
    .get()
}

/** Frees a key whose retention ended, so it can name a new turn. */
/** Frees the key of a finished turn, so a retry with it runs again. */
export async function releaseIdempotencyKey(db: Database, generationId: string): Promise<void> {
  await db.update(generations).set({ idempotencyKey: null }).where(and(eq(generations.id, generationId), ne(generations.status, 'running')))
}

export async function releaseExpiredIdempotencyKey(db: Database, userId: string, key: string, before: Date): Promise<void> {
  await db
    .update(generations)
    .set({ idempotencyKey: null })
    .where(and(eq(generations.userId, userId), eq(generations.idempotencyKey, key), isNotNull(generations.idempotencyKey), lt(generations.startedAt, before)))
}
