import { AppError, notFound } from '../errors'
import { findConversationForUser, type ConversationRow } from '../db/repositories/conversations'
import { findGeneration, sweepOrphanedGenerations } from '../db/repositories/generations'
import type { Role } from '../db/schema'
import type { AuthContext, Services } from '../types'
import { roleAtLeast } from './workspace-access'

/**
 * An active generation with no producer left: the hub lost it (a crash or restart), or the hub finished it but
 * its final write never landed (the terminal event is only announced after that write succeeds).
 */
async function isInterrupted(services: Services, generationId: string): Promise<boolean> {
  const status = await services.hub.status(generationId)
  if (status) return status.state !== 'running'
  const generation = await findGeneration(services.db, generationId)
  return generation?.status === 'running' && (await services.hub.isOrphaned(generationId, generation.startedAt))
}

export interface ConversationAccess {
  conversation: ConversationRow
  role: Role
  /** May post turns: the creator only (shared means read for everyone else). */
  canWrite: boolean
  /** May rate messages: every member, each with a rating of their own. */
  canRate: boolean
  /** May rename, archive, share, delete and cancel generations: the creator or a workspace admin. */
  canManage: boolean
}

/**
 * A conversation as the caller sees it: private ones only by their creator, shared ones by every workspace
 * member. Invisible is 404. A generation the hub no longer knows (its process died) is finalized on read.
 */
export async function conversationAccess(services: Services, auth: AuthContext, id: string): Promise<ConversationAccess> {
  const found = await findConversationForUser(services.db, id, auth.userId)
  if (!found?.role || (auth.workspaceScope && auth.workspaceScope !== found.conversation.workspaceId)) throw notFound('Conversation')
  let { conversation } = found
  const role = found.role
  const isCreator = conversation.userId === auth.userId
  if (!isCreator && conversation.visibility !== 'workspace') throw notFound('Conversation')
  if (conversation.activeGenerationId && (await isInterrupted(services, conversation.activeGenerationId))) {
    await sweepOrphanedGenerations(services.db, services.now(), [conversation.activeGenerationId])
    conversation = { ...conversation, activeGenerationId: null }
  }
  const member = roleAtLeast(role, 'member')
  return {
    conversation,
    role,
    canWrite: member && isCreator,
    canRate: member,
    canManage: member && (isCreator || roleAtLeast(role, 'admin')),
  }
}

export function requireWrite(access: ConversationAccess): void {
  if (access.canWrite) return
  throw new AppError('forbidden', access.canRate ? 'Only the creator of a shared conversation can post to it' : 'Viewers cannot post to conversations')
}

export function requireRate(access: ConversationAccess): void {
  if (!access.canRate) throw new AppError('forbidden', 'Viewers cannot rate messages')
}

export function requireManage(access: ConversationAccess): void {
  if (!access.canManage) throw new AppError('forbidden', "Only the conversation's creator or a workspace admin can change it")
}
