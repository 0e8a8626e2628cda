import { findConversationIdByClientChatId } from '../../db/repositories/conversations'
import { createConversation } from '../../services/conversations'
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
  try {
    return (await createConversation(services, auth, { ...create, visibility: 'private', clientChatId: chatId })).id
  } catch (error) {
    // Two first requests for one chat id: the unique index lets one insert win, the other uses it.
    const winner = await findConversationIdByClientChatId(services.db, auth.userId, chatId)
    if (winner) return winner
    throw error
  }
}
