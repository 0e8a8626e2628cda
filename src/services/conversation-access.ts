import { AppError, notFound } from '../errors'
import { findConversation, type ConversationRow } from '../db/repositories/conversations'
import { sweepOrphanedGenerations } from '../db/repositories/generations'
import type { Role } from '../db/schema'
import { findWorkspaceForUser } from '../db/repositories/workspaces'
import type { AuthContext, Services } from '../types'
import { roleAtLeast } from './workspace-access'

const ORPHAN_GRACE_MS = 10_000

export interface ConversationAccess {
  conversation: ConversationRow
  role: Role
  /** May post turns and cancel generations. */
  canWrite: boolean
  /** May rename, archive, share and delete. */
  canManage: boolean
}

/**
 * A conversation as the caller sees it: private ones only by their creator, shared ones by every workspace
 * member. Invisible is 404. A generation the hub no longer knows (its process died) is finalized on read.
 */
export async function conversationAccess(services: Services, auth: AuthContext, id: string): Promise<ConversationAccess> {
  let conversation = await findConversation(services.db, id)
  if (!conversation || (auth.workspaceScope && auth.workspaceScope !== conversation.workspaceId)) throw notFound('Conversation')
  const membership = await findWorkspaceForUser(services.db, conversation.workspaceId, auth.userId)
  const isCreator = conversation.userId === auth.userId
  if (!membership || (!isCreator && conversation.visibility !== 'workspace')) throw notFound('Conversation')
  const active = conversation.activeGenerationId
  if (active && !(await services.hub.status(active))) {
    // Between claiming the conversation and reaching the hub a turn is briefly unknown to it: spare young ones.
    const now = services.now()
    const graceStart = new Date(now.getTime() - ORPHAN_GRACE_MS)
    if (await sweepOrphanedGenerations(services.db, now, [active], graceStart)) conversation = { ...conversation, activeGenerationId: null }
  }
  const canWrite = roleAtLeast(membership.role, 'member')
  return {
    conversation,
    role: membership.role,
    canWrite,
    canManage: canWrite && (isCreator || roleAtLeast(membership.role, 'admin')),
  }
}

export function requireWrite(access: ConversationAccess): void {
  if (!access.canWrite) throw new AppError('forbidden', 'Viewers cannot post to conversations')
}

export function requireManage(access: ConversationAccess): void {
  if (!access.canManage) throw new AppError('forbidden', "Only the conversation's creator or a workspace admin can change it")
}
