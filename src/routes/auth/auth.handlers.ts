import { renderUser, renderWorkspace } from '../../schemas'
import * as sessions from '../../services/sessions'
import type { AppRouteHandler } from '../../types'
import type * as routes from './auth.routes'

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
  const { user, workspace, tokens } = await sessions.register(c.var.services, c.req.valid('json'))
  return c.json({ user: renderUser(user), workspace: renderWorkspace({ ...workspace, role: 'owner' }), ...tokens }, 201)
}

export const login: AppRouteHandler<typeof routes.login> = async (c) => {
  return c.json(await sessions.login(c.var.services, c.req.valid('json')), 200)
}

export const refresh: AppRouteHandler<typeof routes.refresh> = async (c) => {
  return c.json(await sessions.refresh(c.var.services, c.req.valid('json').refreshToken), 200)
}

export const logout: AppRouteHandler<typeof routes.logout> = async (c) => {
  await sessions.logout(c.var.services, c.req.valid('json').refreshToken)
  return c.body(null, 204)
}

export const logoutAll: AppRouteHandler<typeof routes.logoutAll> = async (c) => {
  await sessions.logoutAll(c.var.services, c.var.auth.userId)
  return c.body(null, 204)
}
