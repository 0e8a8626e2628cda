import { findConversationIdByClientChatId, insertConversation, type ConversationRow } from '../../db/repositories/conversations'
import { findPersonalWorkspace } from '../../db/repositories/workspaces'
import { AppError } from '../../errors'
import { resolveModel } from '../../chat/turns'
import { workspaceAccess } from '../../services/workspace-access'
import { conversationPreset } from '../../services/assistants'
import type { AuthContext, Services } from '../../types'

const isConversationId = (chatId: string) => chatId.startsWith('conv_')

export interface NewChat {
  workspaceId?: string | undefined
  assistantId?: string | undefined
  modelId?: string | undefined
}

/**
 * The conversation a chat id names: a `conv_…` id is itself; any other string is the caller's own conversation
 * created for it (null when none was yet). Access is checked by whoever reads or writes the conversation.
 */
export async function conversationOfChat(services: Services, auth: AuthContext, chatId: string): Promise<string | null> {
  if (isConversationId(chatId)) return chatId
  return (await findConversationIdByClientChatId(services.db, auth.userId, chatId)) ?? null
}

/** The conversation a chat id names, created on first use with the request's workspace, assistant and model. */
export async function conversationForChat(services: Services, auth: AuthContext, chatId: string, create: NewChat): Promise<string> {
  const existing = await conversationOfChat(services, auth, chatId)
  if (existing) return existing
  const workspaceId = create.workspaceId ?? auth.workspaceScope ?? (await findPersonalWorkspace(services.db, auth.userId))?.id
  if (!workspaceId) throw new AppError('validation_failed', 'workspaceId: required (you have no personal workspace)', { errors: [{ path: 'workspaceId', message: 'Required' }] })
  await workspaceAccess(services, auth, workspaceId, 'member')
  const preset = await conversationPreset(services, auth, create, workspaceId)
  const now = services.now()
  const row: ConversationRow = {
    id: services.newId('conv'),
    workspaceId,
    userId: auth.userId,
    title: null,
    modelId: create.modelId ? resolveModel(services, create.modelId) : null,
    systemPrompt: null,
    visibility: 'private',
    archived: false,
    activeGenerationId: null,
    metadata: {},
    storedBytes: 0,
    clientChatId: chatId,
    createdAt: now,
    updatedAt: now,
    ...preset,
  }
  try {
    await insertConversation(services.db, row)
    return row.id
  } catch (error) {
    // Two first requests for one chat id: the unique index lets one insert win, the other uses it.
    const winner = await findConversationIdByClientChatId(services.db, auth.userId, chatId)
    if (winner) return winner
    throw error
  }
}
