import { serve, upgradeWebSocket, type HttpBindings } from '@hono/node-server'
import { ConfigError } from '../config'
import { createLocalServer, listenHost, listenUrl } from './local'
import { nodeSocketTransport, nodeWebSocketServer } from './node-websocket'

try {
  const peer = (_request: Request, env: unknown) => (env as HttpBindings | undefined)?.incoming?.socket.remoteAddress ?? null
  const { app, config, logger, close } = await createLocalServer(process.env, upgradeWebSocket, nodeSocketTransport, peer)
  const websocket = { server: nodeWebSocketServer(config) }
  const hostname = listenHost(config)
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname, websocket }, (info) => {
    logger.info(`EdgeChat listening on ${listenUrl(hostname, info.port)}`, { runtime: 'node', host: hostname, port: info.port, database: config.DATABASE_URL })
  })
  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal })
    server.close(() => {
      close()
      process.exit(0)
    })
    setTimeout(() => process.exit(0), 5_000).unref()
  }
  process.once('SIGINT', () => shutdown('SIGINT'))
  process.once('SIGTERM', () => shutdown('SIGTERM'))
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  console.error(error.message)
  process.exit(1)
}
