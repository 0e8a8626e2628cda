import { createRouter } from '../../lib/create-router'
import * as handlers from './messages.handlers'
import * as routes from './messages.routes'

export const messagesRouter = createRouter().openapi(routes.putFeedback, handlers.putFeedback).openapi(routes.deleteFeedback, handlers.deleteFeedback)
  .openapi(routes.regenerate, handlers.regenerate)
