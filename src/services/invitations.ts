import * as invitations from '../db/repositories/invitations'
import { findUserById } from '../db/repositories/users'
import { findMember, findMemberByEmail, findWorkspaceForUser, type WorkspaceWithRole } from '../db/repositories/workspaces'
import type { Role } from '../db/schema'
import { AppError, notFound } from '../errors'
import { normalizeEmail, normalizeEmailOrNull } from '../lib/email'
import type { AuthContext, Services } from '../types'
import { workspaceAccess } from './workspace-access'
import { ownersOnly } from './workspaces'

/** How long an invitation can be accepted; inviting the same email again restarts it. */
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000

type Page = { after: string | null; limit: number }

/**
 * Invites an email into a workspace (admin or owner; only an owner invites an owner). Whether the email has an
 * account is never looked at, so the answer is the same either way; nobody joins until the invitee accepts.
 */
export async function invite(
  services: Services,
  auth: AuthContext,
  workspaceId: string,
  input: { email: string; role: Role },
): Promise<invitations.InvitationView> {
  const workspace = await workspaceAccess(services, auth, workspaceId, 'admin')
  if (input.role === 'owner' && workspace.role !== 'owner') throw ownersOnly()
  const email = normalizeEmail(input.email)
  // Members' emails are visible to every member already, so saying this reveals nothing new.
  if (await findMemberByEmail(services.db, workspace.id, email)) throw new AppError('conflict', 'This email belongs to a member already')
  const now = services.now()
  const pending = await invitations.findInvitationByEmail(services.db, workspace.id, email)
  if (pending && pending.expiresAt > now && pending.role === 'owner' && workspace.role !== 'owner') throw ownersOnly()
  const stored = await invitations.upsertInvitation(services.db, {
    id: services.newId('inv'),
    workspaceId: workspace.id,
    email,
    role: input.role,
    invitedBy: auth.userId,
    createdAt: now,
    expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
  })
  const view = await invitations.findInvitation(services.db, stored.id)
  if (!view) throw notFound('Invitation')
  return view
}

export async function listPending(services: Services, auth: AuthContext, workspaceId: string, page: Page) {
  const workspace = await workspaceAccess(services, auth, workspaceId, 'admin')
  return invitations.listWorkspaceInvitations(services.db, workspace.id, { ...page, now: services.now() })
}

/** Admins revoke invitations; an invitation to the owner role is revoked by an owner only. */
export async function revoke(services: Services, auth: AuthContext, workspaceId: string, invitationId: string): Promise<void> {
  const workspace = await workspaceAccess(services, auth, workspaceId, 'admin')
  const invitation = await invitations.findInvitation(services.db, invitationId)
  if (!invitation || invitation.workspaceId !== workspace.id) throw notFound('Invitation')
  if (invitation.role === 'owner' && workspace.role !== 'owner') throw ownersOnly()
  if (!(await invitations.deleteInvitation(services.db, invitation.id))) throw notFound('Invitation')
}

/** The caller's address as invitations store it (a row from before emails were normalized may hold another form). */
async function callerEmail(services: Services, auth: AuthContext): Promise<string> {
  const user = await findUserById(services.db, auth.userId)
  if (!user) throw new AppError('unauthorized', 'Invalid or expired token')
  return normalizeEmailOrNull(user.email) ?? user.email
}

export async function listMine(services: Services, auth: AuthContext, page: Page) {
  const email = await callerEmail(services, auth)
  return invitations.listInvitationsForEmail(services.db, email, { ...page, now: services.now(), only: auth.workspaceScope })
}

/** The caller's own pending invitation: anyone else's (or one outside an API key's workspace) is 404. */
async function myInvitation(services: Services, auth: AuthContext, invitationId: string) {
  const email = await callerEmail(services, auth)
  const invitation = await invitations.findInvitation(services.db, invitationId)
  if (!invitation || invitation.email !== email) throw notFound('Invitation')
  if (auth.workspaceScope && auth.workspaceScope !== invitation.workspaceId) throw notFound('Invitation')
  if (invitation.expiresAt <= services.now()) throw new AppError('not_found', 'This invitation has expired; ask for a new one')
  return invitation
}

export async function accept(services: Services, auth: AuthContext, invitationId: string): Promise<WorkspaceWithRole> {
  const invitation = await myInvitation(services, auth, invitationId)
  if (await findMember(services.db, invitation.workspaceId, auth.userId)) {
    await invitations.deleteInvitation(services.db, invitation.id)
    throw new AppError('conflict', 'You are a member of this workspace already')
  }
  if (!(await invitations.acceptInvitation(services.db, invitation, auth.userId, services.now()))) throw notFound('Invitation')
  const workspace = await findWorkspaceForUser(services.db, invitation.workspaceId, auth.userId)
  if (!workspace) throw notFound('Workspace')
  return workspace
}

export async function decline(services: Services, auth: AuthContext, invitationId: string): Promise<void> {
  const invitation = await myInvitation(services, auth, invitationId)
  if (!(await invitations.deleteInvitation(services.db, invitation.id))) throw notFound('Invitation')
}
