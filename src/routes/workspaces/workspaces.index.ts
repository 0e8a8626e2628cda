import { createRouter } from '../../lib/create-router'
import * as handlers from './workspaces.handlers'
import * as routes from './workspaces.routes'

export const workspacesRouter = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.listMembers, handlers.listMembers)
  .openapi(routes.addMember, handlers.addMember)
  .openapi(routes.updateMember, handlers.updateMember)
  .openapi(routes.removeMember, handlers.removeMember)
  .openapi(routes.listInvitations, handlers.listInvitations)
  .openapi(routes.revokeInvitation, handlers.revokeInvitation)
