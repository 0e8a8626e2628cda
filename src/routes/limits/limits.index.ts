import { createRouter } from '../../lib/create-router'
import * as handlers from './limits.handlers'
import * as routes from './limits.routes'

export const limitsRouter = createRouter().openapi(routes.get, handlers.get).openapi(routes.put, handlers.put)
