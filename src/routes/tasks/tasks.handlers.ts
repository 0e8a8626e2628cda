import type { AppRouteHandler } from '../../types'
import type * as routes from './tasks.routes'

export const list: AppRouteHandler<typeof routes.list> = (c) => c.json({ data: c.var.services.tasks.list() }, 200)
