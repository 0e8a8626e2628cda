import { createRouter } from '../../lib/create-router'
import * as handlers from './ui-chat.handlers'
import * as routes from './ui-chat.routes'

export const uiChatRouter = createRouter().openapi(routes.chat, handlers.chat).openapi(routes.stream, handlers.stream).openapi(routes.stop, handlers.stop)
