import * as repo from '../db/repositories/workspaces'
import type { Role } from '../db/schema'
import { AppError, notFound } from '../errors'
import type { AuthContext, Services } from '../types'
import { workspaceAccess } from './workspace-access'

export const ownersOnly = () => new AppError('forbidden', 'Only an owner can grant, change or remove the owner role')
const lastOwner = () => new AppError('conflict', 'A workspace must keep at least one owner')

export async function createWorkspace(services: Services, auth: AuthContext, name: string): Promise<repo.WorkspaceWithRole> {
  if (auth.workspaceScope) throw new AppError('forbidden', 'This API key is scoped to one workspace')
  const workspace = await repo.createWorkspace(services.db, { id: services.newId('ws'), name, ownerId: auth.userId, now: services.now() })
  return { ...workspace, role: 'owner' }
}

export async function renameWorkspace(services: Services, auth: AuthContext, id: string, name: string): Promise<repo.WorkspaceWithRole> {
  const workspace = await workspaceAccess(services, auth, id, 'admin')
  await repo.renameWorkspace(services.db, workspace.id, name, services.now())
  return { ...workspace, name }
}

export async function deleteWorkspace(services: Services, auth: AuthContext, id: string): Promise<void> {
  const workspace = await workspaceAccess(services, auth, id, 'owner')
  if (workspace.personal) throw new AppError('conflict', 'A personal workspace cannot be deleted')
  await repo.deleteWorkspace(services.db, workspace.id)
}

/** Checks shared by role changes and removals: owners are only touched by owners, and one always remains. */
async function memberChange(services: Services, auth: AuthContext, target: { id: string; userId: string }, newRole: Role | null) {
  const { id, userId } = target
  const leaving = newRole === null && userId === auth.userId
  const workspace = await workspaceAccess(services, auth, id, leaving ? 'viewer' : 'admin')
  const member = await repo.findMember(services.db, workspace.id, userId)
  if (!member) throw notFound('Member')
  if ((member.role === 'owner' || newRole === 'owner') && workspace.role !== 'owner' && !leaving) throw ownersOnly()
  if (member.role === 'owner' && newRole !== 'owner' && (await repo.countOwners(services.db, workspace.id)) <= 1) throw lastOwner()
  return { workspace, member }
}

export async function changeMemberRole(
  services: Services,
  auth: AuthContext,
  target: { id: string; userId: string },
  role: Role,
): Promise<repo.MemberRow> {
  const { workspace, member } = await memberChange(services, auth, target, role)
  await repo.setMemberRole(services.db, workspace.id, member.userId, role)
  return { ...member, role }
}

export async function removeMember(services: Services, auth: AuthContext, target: { id: string; userId: string }): Promise<void> {
  const { workspace, member } = await memberChange(services, auth, target, null)
  await repo.removeMember(services.db, workspace.id, member.userId)
}
