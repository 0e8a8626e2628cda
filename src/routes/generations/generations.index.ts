import { createRouter } from '../../lib/create-router'
import * as handlers from './generations.handlers'
import * as routes from './generations.routes'

export const generationsRouter = createRouter()
  .openapi(routes.get, handlers.get)
  .openapi(routes.events, handlers.events)
  .openapi(routes.cancel, handlers.cancel)
