import { createRouter } from '../../lib/create-router'
import * as handlers from './mcp-servers.handlers'
import * as routes from './mcp-servers.routes'

export const mcpServersRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove)
