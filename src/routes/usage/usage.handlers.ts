import { AppError } from '../../errors'
import { usageReport } from '../../governance/ledger'
import { usageWorkspace } from '../../governance/limit-checks'
import { roleAtLeast, workspaceAccess } from '../../services/workspace-access'
import type { AppRouteHandler } from '../../types'
import type * as routes from './usage.routes'

const MAX_RANGE_MS = 400 * 24 * 60 * 60 * 1000

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { services, auth } = c.var
  const query = c.req.valid('query')
  const workspaceId = query.workspaceId ?? (await usageWorkspace(services.db, auth))
  const workspace = await workspaceAccess(services, auth, workspaceId)
  const now = services.now()
  const from = query.from ? new Date(query.from) : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
  const to = query.to ? new Date(query.to) : now
  if (to.getTime() < from.getTime()) throw new AppError('validation_failed', 'to: must not be before from', { errors: [{ path: 'to', message: 'must not be before from' }] })
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw new AppError('validation_failed', 'to: at most 400 days after from', { errors: [{ path: 'to', message: 'at most 400 days after from' }] })
  const report = await usageReport(services.db, {
    workspaceId: workspace.id,
    userId: roleAtLeast(workspace.role, 'admin') ? null : auth.userId,
    from,
    to,
    groupBy: query.groupBy,
  })
  return c.json(report, 200)
}
