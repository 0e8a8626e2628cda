import { z } from '@hono/zod-openapi'
import * as repo from '../../db/repositories/workspaces'
import { findUserByEmail } from '../../db/repositories/users'
import type { Role } from '../../db/schema'
import { AppError, notFound } from '../../errors'
import { decodeCursor, toPage } from '../../lib/pagination'
import { renderWorkspace } from '../../schemas'
import { roleAtLeast, workspaceAccess } from '../../services/workspace-access'
import type { AppRouteHandler, AuthContext, Services } from '../../types'
import type * as routes from './workspaces.routes'

function renderMember(member: repo.MemberRow) {
  return { ...member, createdAt: member.createdAt.toISOString() }
}

const ownersOnly = () => new AppError('forbidden', 'Only an owner can grant, change or remove the owner role')
const lastOwner = () => new AppError('conflict', 'A workspace must keep at least one owner')

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  const auth = c.var.auth
  const rows = await repo.listWorkspacesForUser(c.var.services.db, auth.userId, {
    after: decodeCursor(cursor, z.string()),
    limit,
    only: auth.workspaceScope,
  })
  return c.json(toPage(rows, limit, renderWorkspace, (row) => row.id), 200)
}

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const services = c.var.services
  if (c.var.auth.workspaceScope) throw new AppError('forbidden', 'This API key is scoped to one workspace')
  const workspace = await repo.createWorkspace(services.db, {
    id: services.newId('ws'),
    name: c.req.valid('json').name,
    ownerId: c.var.auth.userId,
    now: services.now(),
  })
  return c.json(renderWorkspace({ ...workspace, role: 'owner' }), 201)
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const workspace = await workspaceAccess(c.var.services, c.var.auth, c.req.valid('param').id)
  return c.json(renderWorkspace(workspace), 200)
}

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const services = c.var.services
  const workspace = await workspaceAccess(services, c.var.auth, c.req.valid('param').id, 'admin')
  const { name } = c.req.valid('json')
  await repo.renameWorkspace(services.db, workspace.id, name, services.now())
  return c.json(renderWorkspace({ ...workspace, name }), 200)
}

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const services = c.var.services
  const workspace = await workspaceAccess(services, c.var.auth, c.req.valid('param').id, 'owner')
  if (workspace.personal) throw new AppError('conflict', 'A personal workspace cannot be deleted')
  await repo.deleteWorkspace(services.db, workspace.id)
  return c.body(null, 204)
}

export const listMembers: AppRouteHandler<typeof routes.listMembers> = async (c) => {
  const workspace = await workspaceAccess(c.var.services, c.var.auth, c.req.valid('param').id)
  const { limit, cursor } = c.req.valid('query')
  const rows = await repo.listMembers(c.var.services.db, workspace.id, { after: decodeCursor(cursor, z.string()), limit })
  return c.json(toPage(rows, limit, renderMember, (row) => row.userId), 200)
}

export const addMember: AppRouteHandler<typeof routes.addMember> = async (c) => {
  const services = c.var.services
  const workspace = await workspaceAccess(services, c.var.auth, c.req.valid('param').id, 'admin')
  const { email, role } = c.req.valid('json')
  if (role === 'owner' && workspace.role !== 'owner') throw ownersOnly()
  const user = await findUserByEmail(services.db, email)
  if (!user) throw new AppError('not_found', 'No registered user has this email')
  const now = services.now()
  if (!(await repo.addMember(services.db, { workspaceId: workspace.id, userId: user.id, role, now }))) {
    throw new AppError('conflict', 'This user is already a member')
  }
  return c.json(renderMember({ userId: user.id, email: user.email, name: user.name, role, createdAt: now }), 201)
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

export const updateMember: AppRouteHandler<typeof routes.updateMember> = async (c) => {
  const { role } = c.req.valid('json')
  const services = c.var.services
  const { workspace, member } = await memberChange(services, c.var.auth, c.req.valid('param'), role)
  await repo.setMemberRole(services.db, workspace.id, member.userId, role)
  return c.json(renderMember({ ...member, role }), 200)
}

export const removeMember: AppRouteHandler<typeof routes.removeMember> = async (c) => {
  const services = c.var.services
  const { workspace, member } = await memberChange(services, c.var.auth, c.req.valid('param'), null)
  await repo.removeMember(services.db, workspace.id, member.userId)
  return c.body(null, 204)
}
