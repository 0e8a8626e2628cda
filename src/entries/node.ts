import { serve, upgradeWebSocket } from '@hono/node-server'
import { WebSocketServer } from 'ws'
import { ConfigError } from '../config'
import { createLocalServer } from './local'

try {
  const { app, config, logger, close } = await createLocalServer(process.env, upgradeWebSocket)
  const websocket = { server: new WebSocketServer({ noServer: true }) }
  const server = serve({ fetch: app.fetch, port: config.PORT, websocket }, (info) => {
    logger.info(`EdgeChat listening on http://localhost:${info.port}`, { runtime: 'node', port: info.port, database: config.DATABASE_URL })
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
