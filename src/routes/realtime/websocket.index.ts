import type { UpgradeWebSocket } from 'hono/ws'
import { AppError } from '../../errors'
import { createRouter } from '../../lib/create-router'
import { conversationAccess } from '../../services/conversation-access'
import { ConversationSocket } from './conversation-socket'
import * as routes from './websocket.routes'

/** `upgrade` is the runtime's WebSocket adapter, handed in by the entry (absent: the route answers 404). */
export function websocketRouter(upgrade: UpgradeWebSocket | undefined) {
  return createRouter().openapi(routes.connect, async (c) => {
    const services = c.var.services
    const auth = c.var.auth
    const { conversation } = await conversationAccess(services, auth, c.req.valid('param').id)
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      throw new AppError('validation_failed', 'Expected a WebSocket upgrade request')
    }
    if (!upgrade) throw new AppError('not_found', 'WebSocket is not available on this server')
    const socket = new ConversationSocket(services, auth, conversation.id)
    const response = await upgrade(c, {
      onMessage: (event, ws) => void socket.receive(event.data, ws),
      onClose: () => socket.close(),
      onError: () => socket.close(),
    })
    return response as never
  })
}
