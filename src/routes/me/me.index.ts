import { createRouter } from '../../lib/create-router'
import * as handlers from './me.handlers'
import * as routes from './me.routes'

export const meRouter = createRouter()
  .openapi(routes.me, handlers.me)
  .openapi(routes.changePassword, handlers.changePassword)
  .openapi(routes.myInvitations, handlers.myInvitations)
  .openapi(routes.acceptInvitation, handlers.acceptInvitation)
  .openapi(routes.declineInvitation, handlers.declineInvitation)
