import { createRouter } from '../../lib/create-router'
import * as handlers from './chat-completions.handlers'
import * as routes from './chat-completions.routes'

export const chatCompletionsRouter = createRouter().openapi(routes.create, handlers.create)
