import { upgradeWebSocket, websocket } from 'hono/bun'
import type { WSContext } from 'hono/ws'
import { ConfigError } from '../config'
import { createLocalServer, listenHost, listenUrl } from './local'

/** Bun's ServerWebSocket, as far as the WebSocket route needs it. */
type BunSocket = { getBufferedAmount(): number; terminate(): void }
const raw = (ws: WSContext) => ws.raw as BunSocket
const transport = { bufferedAmount: (ws: WSContext) => raw(ws).getBufferedAmount(), terminate: (ws: WSContext) => raw(ws).terminate() }

/** The peer of a request, as Bun's server (the fetch handler's second argument) reports it. */
const peer = (request: Request, server: unknown) => (server as { requestIP?(request: Request): { address: string } | null } | undefined)?.requestIP?.(request)?.address ?? null

const started = await createLocalServer(process.env, upgradeWebSocket, transport, peer).catch((error: unknown) => {
  if (!(error instanceof ConfigError)) throw error
  console.error(error.message)
  process.exit(1)
})

const hostname = listenHost(started.config)
started.logger.info(`EdgeChat listening on ${listenUrl(hostname, started.config.PORT)}`, {
  runtime: 'bun',
  host: hostname,
  port: started.config.PORT,
  database: started.config.DATABASE_URL,
})

// Bun closes connections idle for 10 s by default; SSE streams stay quiet up to the 15 s ping.
// A frame longer than a turn body is refused (close 1009); Bun's default would take 16 MiB.
export default {
  fetch: started.app.fetch,
  port: started.config.PORT,
  hostname,
  idleTimeout: 60,
  websocket: { ...websocket, maxPayloadLength: started.config.MAX_TURN_BODY_BYTES },
}
