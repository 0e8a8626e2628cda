import { createRouter } from '../../lib/create-router'
import * as handlers from './assistants.handlers'
import * as routes from './assistants.routes'

export const assistantsRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove)
