import { z } from '@hono/zod-openapi'
import * as repo from '../db/repositories/conversations'
import { feedbackFor, listMessages, type FeedbackView, type MessageRow } from '../db/repositories/messages'
import { findPersonalWorkspace } from '../db/repositories/workspaces'
import { resolveModel } from '../chat/turns'
import { AppError, notFound } from '../errors'
import { decodeCursor } from '../lib/pagination'
import { jsonExport, markdownExport } from './conversation-export'
import type { AuthContext, Services } from '../types'
import { conversationAccess, requireManage } from './conversation-access'
import { workspaceAccess } from './workspace-access'

export interface NewConversation {
  workspaceId?: string | undefined
  assistantId?: string | undefined
  title?: string | undefined
  modelId?: string | undefined
  systemPrompt?: string | undefined
  visibility: 'private' | 'workspace'
  metadata?: Record<string, unknown> | undefined
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
  // Assistants: resolve input.assistantId here (its preset fills modelId, systemPrompt) once they exist.
  if (input.assistantId) throw notFound('Assistant')
  const now = services.now()
  const row: repo.ConversationRow = {
    id: services.newId('conv'),
    workspaceId,
    userId: auth.userId,
    assistantId: null,
    title: input.title ?? null,
    modelId: input.modelId ? resolveModel(services, input.modelId) : null,
    systemPrompt: input.systemPrompt ?? null,
    visibility: input.visibility,
    archived: false,
    activeGenerationId: null,
    metadata: input.metadata ?? {},
    storedBytes: 0,
    clientChatId: null,
    createdAt: now,
    updatedAt: now,
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
export async function listConversations(services: Services, auth: AuthContext, input: ConversationListInput): Promise<repo.ConversationRow[]> {
  const workspaceId = input.workspaceId ?? auth.workspaceScope
  if (workspaceId) await workspaceAccess(services, auth, workspaceId)
  const after = decodeCursor(input.cursor, ListCursor)
  return repo.listVisibleConversations(services.db, {
    userId: auth.userId,
    workspaceId,
    archived: input.archived,
    q: input.q ?? null,
    after: after ? { updatedAt: after[0], id: after[1] } : null,
    limit: input.limit,
  })
}

/** The key a list page's cursor encodes. */
export const conversationListKey = (row: repo.ConversationRow): unknown => [row.updatedAt.getTime(), row.id]

export async function getConversation(services: Services, auth: AuthContext, id: string): Promise<repo.ConversationRow> {
  return (await conversationAccess(services, auth, id)).conversation
}

export interface ConversationChanges {
  title?: string | null | undefined
  archived?: boolean | undefined
  visibility?: 'private' | 'workspace' | undefined
  metadata?: Record<string, unknown> | undefined
}

/** Rename, archive, share or tag: the creator or a workspace admin. */
export async function updateConversation(services: Services, auth: AuthContext, id: string, input: ConversationChanges): Promise<repo.ConversationRow> {
  const access = await conversationAccess(services, auth, id)
  requireManage(access)
  const changes = {
    ...(input.title !== undefined ? { title: input.title } : {}),
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
}

/** A page of the conversation's messages (`limit + 1` rows), oldest first, with the caller's view of their feedback. */
export async function conversationMessages(
  services: Services,
  auth: AuthContext,
  id: string,
  page: { cursor?: string | undefined; limit: number },
): Promise<{ rows: MessageRow[]; feedback: Map<string, FeedbackView> }> {
  const { conversation } = await conversationAccess(services, auth, id)
  const rows = await listMessages(services.db, conversation.id, { after: decodeCursor(page.cursor, z.string()), limit: page.limit })
  const feedback = await feedbackFor(services.db, rows.slice(0, page.limit).map((row) => row.id), auth.userId)
  return { rows, feedback }
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
