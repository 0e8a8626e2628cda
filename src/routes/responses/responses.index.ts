import { createRouter } from '../../lib/create-router'
import * as handlers from './responses.handlers'
import * as routes from './responses.routes'

export const responsesRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.get, handlers.get)
  .openapi(routes.cancel, handlers.cancel)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.inputItems, handlers.inputItems)
