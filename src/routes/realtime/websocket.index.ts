import type { UpgradeWebSocket } from 'hono/ws'
import { AppError } from '../../errors'
import { createRouter } from '../../lib/create-router'
import { bearerToken } from '../../middleware/auth'
import { conversationAccess } from '../../services/conversation-access'
import { waitUntil } from '../generations/event-stream'
import { ConversationSocket } from './conversation-socket'
import type { WebSocketOptions } from './socket-options'
import * as routes from './websocket.routes'

/**
 * `upgrade` is the runtime's WebSocket adapter, handed in by the entry (absent: the route answers 404), with what
 * the runtime tells about a socket's send buffer (`options`).
 */
export function websocketRouter(upgrade: UpgradeWebSocket | undefined, options: WebSocketOptions = {}) {
  return createRouter().openapi(routes.connect, async (c) => {
    const services = c.var.services
    const auth = c.var.auth
    const { conversation } = await conversationAccess(services, auth, c.req.valid('param').id)
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      const message = 'Expected a WebSocket upgrade request'
      throw new AppError('validation_failed', message, { errors: [{ path: '', message }] })
    }
    if (!upgrade) throw new AppError('not_found', 'WebSocket is not available on this server')
    // requireAuth accepted this request's token: the socket re-checks the same one.
    const socket = new ConversationSocket(services, auth, conversation.id, bearerToken(c)!, options, { waitUntil: waitUntil(c) })
    const response = await upgrade(c, {
      onOpen: (_event, ws) => socket.open(ws),
      onMessage: (event, ws) => void socket.receive(event.data, ws),
      onClose: () => socket.close(),
      onError: () => socket.close(),
    })
    return response as never
  })
}
