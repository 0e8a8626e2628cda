import { createRouter } from '../../lib/create-router'
import * as handlers from './tools.handlers'
import * as routes from './tools.routes'

export const toolsRouter = createRouter().openapi(routes.list, handlers.list)
