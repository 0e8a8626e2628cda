import { findUserById } from '../../db/repositories/users'
import { listWorkspacesForUser } from '../../db/repositories/workspaces'
import { AppError } from '../../errors'
import { renderUser } from '../../schemas'
import type { AppRouteHandler } from '../../types'
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
