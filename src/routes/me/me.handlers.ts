import { z } from '@hono/zod-openapi'
import { findUserById } from '../../db/repositories/users'
import { listWorkspacesForUser } from '../../db/repositories/workspaces'
import { AppError } from '../../errors'
import { decodeCursor, toPage } from '../../lib/pagination'
import { renderUser, renderWorkspace } from '../../schemas'
import * as invitations from '../../services/invitations'
import * as sessions from '../../services/sessions'
import type { AppRouteHandler } from '../../types'
import { renderInvitation } from '../workspaces/invitation-shape'
import type * as routes from './me.routes'

const MAX_WORKSPACES = 1000

export const me: AppRouteHandler<typeof routes.me> = async (c) => {
  const { db } = c.var.services
  const auth = c.var.auth
  const user = await findUserById(db, auth.userId)
  if (!user) throw new AppError('unauthorized', 'Invalid or expired token')
  const workspaces = await listWorkspacesForUser(db, auth.userId, { after: null, limit: MAX_WORKSPACES, only: auth.workspaceScope })
  return c.json({ user: renderUser(user), workspaces: workspaces.map(({ id, name, role }) => ({ id, name, role })) }, 200)
}

export const changePassword: AppRouteHandler<typeof routes.changePassword> = async (c) => {
  await sessions.changePassword(c.var.services, c.var.auth.userId, c.req.valid('json'))
  return c.body(null, 204)
}

export const myInvitations: AppRouteHandler<typeof routes.myInvitations> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  const rows = await invitations.listMine(c.var.services, c.var.auth, { after: decodeCursor(cursor, z.string()), limit })
  return c.json(toPage(rows, limit, renderInvitation, (row) => row.id), 200)
}

export const acceptInvitation: AppRouteHandler<typeof routes.acceptInvitation> = async (c) => {
  const workspace = await invitations.accept(c.var.services, c.var.auth, c.req.valid('param').invitationId)
  return c.json(renderWorkspace(workspace), 200)
}

export const declineInvitation: AppRouteHandler<typeof routes.declineInvitation> = async (c) => {
  await invitations.decline(c.var.services, c.var.auth, c.req.valid('param').invitationId)
  return c.body(null, 204)
}
