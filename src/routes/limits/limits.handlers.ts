import { readLimits, writeLimits } from '../../governance/limits'
import { workspaceAccess } from '../../services/workspace-access'
import type { AppRouteHandler } from '../../types'
import type * as routes from './limits.routes'

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const workspace = await workspaceAccess(c.var.services, c.var.auth, c.req.valid('param').id, 'admin')
  return c.json(await readLimits(c.var.services.db, workspace.id), 200)
}

export const put: AppRouteHandler<typeof routes.put> = async (c) => {
  const { services, auth } = c.var
  const workspace = await workspaceAccess(services, auth, c.req.valid('param').id, 'admin')
  const limits = await writeLimits(services.db, workspace.id, c.req.valid('json'), services.now())
  services.governance.limitsChanged(workspace.id)
  return c.json(limits, 200)
}
