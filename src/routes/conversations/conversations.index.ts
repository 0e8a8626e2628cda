import { createRouter } from '../../lib/create-router'
import * as handlers from './conversations.handlers'
import * as routes from './conversations.routes'

export const conversationsRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.listMessages, handlers.listMessages)
  .openapi(routes.sendTurn, handlers.sendTurn)
  .openapi(routes.exportConversation, handlers.exportConversation)
  .openapi(routes.attach, handlers.attach)
