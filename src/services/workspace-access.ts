import { AppError, notFound } from '../errors'
import type { Role } from '../db/schema'
import { findWorkspaceForUser, type WorkspaceWithRole } from '../db/repositories/workspaces'
import type { AuthContext, Services } from '../types'

const rank: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 }

export function roleAtLeast(role: Role, minimum: Role): boolean {
  return rank[role] >= rank[minimum]
}

/**
 * The workspace as the caller sees it. Not a member (or outside the API key's scope) is 404, so existence
 * does not leak; a member below `minimum` is 403.
 */
export async function workspaceAccess(
  services: Services,
  auth: AuthContext,
  workspaceId: string,
  minimum: Role = 'viewer',
): Promise<WorkspaceWithRole> {
  if (auth.workspaceScope && auth.workspaceScope !== workspaceId) throw notFound('Workspace')
  const workspace = await findWorkspaceForUser(services.db, workspaceId, auth.userId)
  if (!workspace) throw notFound('Workspace')
  if (!roleAtLeast(workspace.role, minimum)) {
    throw new AppError('forbidden', `This requires the ${minimum} role or higher in this workspace`)
  }
  return workspace
}
