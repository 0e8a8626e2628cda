import { z } from '@hono/zod-openapi'
import * as repo from '../db/repositories/conversations'
import { feedbackFor, findMessage, listBranch, listMessages, newestLeafUnder, siblingIds, type FeedbackView, type MessageRow } from '../db/repositories/messages'
import { findPersonalWorkspace, memberWorkspaceIds } from '../db/repositories/workspaces'
import { regenerateTurn, resolveModel, type StartedTurn, type TurnOptions } from '../chat/turns'
import type { InferenceConfig } from '../models/model-client'
import { AppError, notFound } from '../errors'
import { decodeCursor } from '../lib/pagination'
import { ftsQuery } from '../search/fts-query'
import { jsonExport, markdownExport } from './conversation-export'
import type { AuthContext, Services } from '../types'
import { conversationAccess, requireManage } from './conversation-access'
import { deleteConversationFiles } from './files'
import { workspaceAccess } from './workspace-access'
import { conversationPreset } from './assistants'

export interface NewConversation {
  workspaceId?: string | undefined
  assistantId?: string | undefined
  title?: string | undefined
  modelId?: string | undefined
  systemPrompt?: string | undefined
  visibility: 'private' | 'workspace'
  metadata?: Record<string, unknown> | undefined
  /** The chat id an AI SDK client chose for it (unique per user). */
  clientChatId?: string | undefined
}

async function personalWorkspaceId(services: Services, userId: string): Promise<string> {
  const personal = await findPersonalWorkspace(services.db, userId)
  if (!personal) throw new AppError('validation_failed', 'workspaceId: required (you have no personal workspace)', { errors: [{ path: 'workspaceId', message: 'Required' }] })
  return personal.id
}

/** A new conversation in the given workspace (default: the key's, else the caller's personal one); members and up. */
export async function createConversation(services: Services, auth: AuthContext, input: NewConversation): Promise<repo.ConversationRow> {
  const workspaceId = input.workspaceId ?? auth.workspaceScope ?? (await personalWorkspaceId(services, auth.userId))
  await workspaceAccess(services, auth, workspaceId, 'member')
  // An assistant's model, system prompt, inference settings, tools and task (copied: the assistant may change or go).
  const preset = await conversationPreset(services, auth, input, workspaceId)
  const now = services.now()
  const row: repo.ConversationRow = {
    id: services.newId('conv'),
    workspaceId,
    userId: auth.userId,
    title: input.title ?? null,
    modelId: input.modelId ? resolveModel(services, input.modelId) : null,
    systemPrompt: input.systemPrompt ?? null,
    visibility: input.visibility,
    archived: false,
    activeGenerationId: null,
    metadata: input.metadata ?? {},
    storedBytes: 0,
    clientChatId: input.clientChatId ?? null,
    currentLeafId: null,
    titleSource: input.title ? 'user' : null,
    createdAt: now,
    updatedAt: now,
    ...preset,
  }
  await repo.insertConversation(services.db, row)
  return row
}

const ListCursor = z.tuple([z.number().int(), z.string()])

export interface ConversationListInput {
  workspaceId?: string | undefined
  q?: string | undefined
  archived: boolean
  cursor?: string | undefined
  limit: number
}

/** Conversations the caller may read, newest activity first; `limit + 1` rows (toPage's convention). */
export async function listConversations(services: Services, auth: AuthContext, input: ConversationListInput): Promise<repo.ShownConversation[]> {
  let workspaceId = input.workspaceId ?? auth.workspaceScope
  if (workspaceId) await workspaceAccess(services, auth, workspaceId)
  else {
    // A user in one workspace (most: only their personal one) lists that one: in a single workspace the activity
    // index yields the page in order, where across several every visible conversation is read and sorted first.
    const mine = await memberWorkspaceIds(services.db, auth.userId, 2)
    if (mine.length === 1) workspaceId = mine[0]!
  }
  const after = decodeCursor(input.cursor, ListCursor)
  const match = input.q === undefined ? null : ftsQuery(input.q)
  if (input.q !== undefined && match === null) return []
  if (match) await services.search.catchUp()
  return repo.listVisibleConversations(services.db, {
    userId: auth.userId,
    workspaceId,
    archived: input.archived,
    match,
    after: after ? { updatedAt: after[0], id: after[1] } : null,
    limit: input.limit,
  })
}

/** The key a list page's cursor encodes. */
export const conversationListKey = (row: repo.ShownConversation): unknown => [row.updatedAt.getTime(), row.id]

export async function getConversation(services: Services, auth: AuthContext, id: string): Promise<repo.ConversationRow> {
  return (await conversationAccess(services, auth, id)).conversation
}

export interface ConversationChanges {
  title?: string | null | undefined
  archived?: boolean | undefined
  visibility?: 'private' | 'workspace' | undefined
  metadata?: Record<string, unknown> | undefined
  /** Switches the branch: the leaf becomes the newest message under this one. */
  currentLeafId?: string | undefined
}

/** Rename, archive, share, tag or switch the branch shown: the creator or a workspace admin. */
export async function updateConversation(services: Services, auth: AuthContext, id: string, input: ConversationChanges): Promise<repo.ConversationRow> {
  const access = await conversationAccess(services, auth, id)
  requireManage(access)
  const leaf = input.currentLeafId === undefined ? undefined : await newestLeafUnder(services.db, access.conversation.id, input.currentLeafId)
  if (leaf === undefined && input.currentLeafId !== undefined) throw notFound('Message')
  const changes = {
    ...(input.title !== undefined ? { title: input.title, titleSource: input.title === null ? null : ('user' as const) } : {}),
    ...(leaf !== undefined ? { currentLeafId: leaf } : {}),
    ...(input.archived !== undefined ? { archived: input.archived } : {}),
    ...(input.visibility !== undefined ? { visibility: input.visibility } : {}),
    ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
    updatedAt: services.now(),
  }
  await repo.updateConversation(services.db, access.conversation.id, changes)
  return { ...access.conversation, ...changes }
}

/** Deletes a conversation and its messages; a running generation is cancelled and waited for first. */
export async function deleteConversation(services: Services, auth: AuthContext, id: string): Promise<void> {
  const access = await conversationAccess(services, auth, id)
  requireManage(access)
  const active = access.conversation.activeGenerationId
  if (active) {
    await services.hub.cancel(active)
    await services.hub.running(active)
  }
  await repo.deleteConversation(services.db, access.conversation.id)
  await deleteConversationFiles(services, access.conversation.id)
}

/**
 * A page (`limit + 1` rows) of the conversation's current branch (root → currentLeafId) or of its whole tree, oldest
 * first, with each message's siblings and the caller's view of their feedback.
 */
export async function conversationMessages(
  services: Services,
  auth: AuthContext,
  id: string,
  page: { branch: 'current' | 'all'; cursor?: string | undefined; limit: number },
): Promise<{ rows: MessageRow[]; feedback: Map<string, FeedbackView>; siblings: Map<string, string[]> }> {
  const { conversation } = await conversationAccess(services, auth, id)
  const after = decodeCursor(page.cursor, z.string())
  const rows =
    page.branch === 'all'
      ? await listMessages(services.db, conversation.id, { after, limit: page.limit })
      : await listBranch(services.db, conversation.id, conversation.currentLeafId, { after, limit: page.limit })
  const shown = rows.slice(0, page.limit)
  const [feedback, siblings] = await Promise.all([
    feedbackFor(services.db, shown.map((row) => row.id), auth.userId),
    siblingIds(services.db, conversation.id, shown),
  ])
  return { rows, feedback, siblings }
}

/** The export document, written page by page as the client reads it: JSON (the whole tree) or Markdown. */
export async function exportConversation(
  services: Services,
  auth: AuthContext,
  id: string,
  format: 'json' | 'markdown',
): Promise<{ conversation: repo.ConversationRow; body: ReadableStream<Uint8Array> }> {
  const { conversation } = await conversationAccess(services, auth, id)
  const body = format === 'markdown' ? markdownExport(services.db, conversation) : jsonExport(services.db, conversation, auth.userId)
  return { conversation, body }
}

/**
 * Answers the user message of an assistant message again: a new sibling answer, which becomes the current leaf. The
 * message is 404 where its conversation is invisible.
 */
export async function regenerateAnswer(
  services: Services,
  auth: AuthContext,
  messageId: string,
  input: { modelId?: string | undefined; inference?: InferenceConfig | undefined },
  options: TurnOptions,
): Promise<StartedTurn> {
  const message = await findMessage(services.db, messageId)
  if (!message) throw notFound('Message')
  await conversationAccess(services, auth, message.conversationId).catch((error: unknown) => {
    throw error instanceof AppError && error.code === 'not_found' ? notFound('Message') : error
  })
  if (message.role !== 'assistant' || !message.parentId) {
    throw new AppError('validation_failed', 'id: only an assistant message can be regenerated (to change a user message, send an edit: a turn with its parentId)', {
      errors: [{ path: 'id', message: 'Not an assistant message' }],
    })
  }
  return regenerateTurn(services, auth, message.conversationId, { userMessageId: message.parentId, ...input }, options)
}
