import { z } from '@hono/zod-openapi'
import * as repo from '../../db/repositories/workspaces'
import { decodeCursor, toPage } from '../../lib/pagination'
import { renderWorkspace } from '../../schemas'
import * as invitations from '../../services/invitations'
import { workspaceAccess } from '../../services/workspace-access'
import * as workspaces from '../../services/workspaces'
import type { AppRouteHandler } from '../../types'
import { renderInvitation } from './invitation-shape'
import type * as routes from './workspaces.routes'

function renderMember(member: repo.MemberRow) {
  return { ...member, createdAt: member.createdAt.toISOString() }
}

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
  const workspace = await workspaces.createWorkspace(c.var.services, c.var.auth, c.req.valid('json').name)
  return c.json(renderWorkspace(workspace), 201)
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const workspace = await workspaceAccess(c.var.services, c.var.auth, c.req.valid('param').id)
  return c.json(renderWorkspace(workspace), 200)
}

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const workspace = await workspaces.renameWorkspace(c.var.services, c.var.auth, c.req.valid('param').id, c.req.valid('json').name)
  return c.json(renderWorkspace(workspace), 200)
}

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  await workspaces.deleteWorkspace(c.var.services, c.var.auth, c.req.valid('param').id)
  return c.body(null, 204)
}

export const listMembers: AppRouteHandler<typeof routes.listMembers> = async (c) => {
  const workspace = await workspaceAccess(c.var.services, c.var.auth, c.req.valid('param').id)
  const { limit, cursor } = c.req.valid('query')
  const rows = await repo.listMembers(c.var.services.db, workspace.id, { after: decodeCursor(cursor, z.string()), limit })
  return c.json(toPage(rows, limit, renderMember, (row) => row.userId), 200)
}

export const addMember: AppRouteHandler<typeof routes.addMember> = async (c) => {
  const invitation = await invitations.invite(c.var.services, c.var.auth, c.req.valid('param').id, c.req.valid('json'))
  return c.json(renderInvitation(invitation), 202)
}

export const updateMember: AppRouteHandler<typeof routes.updateMember> = async (c) => {
  const member = await workspaces.changeMemberRole(c.var.services, c.var.auth, c.req.valid('param'), c.req.valid('json').role)
  return c.json(renderMember(member), 200)
}

export const removeMember: AppRouteHandler<typeof routes.removeMember> = async (c) => {
  await workspaces.removeMember(c.var.services, c.var.auth, c.req.valid('param'))
  return c.body(null, 204)
}

export const listInvitations: AppRouteHandler<typeof routes.listInvitations> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  const rows = await invitations.listPending(c.var.services, c.var.auth, c.req.valid('param').id, { after: decodeCursor(cursor, z.string()), limit })
  return c.json(toPage(rows, limit, renderInvitation, (row) => row.id), 200)
}

export const revokeInvitation: AppRouteHandler<typeof routes.revokeInvitation> = async (c) => {
  const { id, invitationId } = c.req.valid('param')
  await invitations.revoke(c.var.services, c.var.auth, id, invitationId)
  return c.body(null, 204)
}
