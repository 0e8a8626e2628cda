/** The `ws` side of the WebSocket route on Node: frame size limit, send-buffer measure, hard close. */
import type { WSContext } from 'hono/ws'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Config } from '../config'
import type { SocketTransport } from '../routes/realtime/socket-options'

/**
 * For @hono/node-server's `serve({ websocket: { server } })`. A frame longer than a turn body is refused from its
 * header (close 1009) instead of being buffered first (ws would otherwise take 100 MiB).
 */
export function nodeWebSocketServer(config: Pick<Config, 'MAX_TURN_BODY_BYTES'>): WebSocketServer {
  return new WebSocketServer({ noServer: true, maxPayload: config.MAX_TURN_BODY_BYTES })
}

const raw = (ws: WSContext) => ws.raw as WebSocket

export const nodeSocketTransport: SocketTransport = {
  bufferedAmount: (ws) => raw(ws).bufferedAmount,
  terminate: (ws) => raw(ws).terminate(),
}
