import { createRouter } from '../../lib/create-router'
import * as handlers from './tasks.handlers'
import * as routes from './tasks.routes'

export const tasksRouter = createRouter().openapi(routes.list, handlers.list)
