import { ServerResponse } from 'node:http'
import { serve, upgradeWebSocket, type Http2Bindings, type HttpBindings } from '@hono/node-server'
import { ConfigError } from '../config'
import { createLocalServer, listenHost, listenUrl } from './local'
import { nodeBedrockFetch } from './node-bedrock-fetch'
import { takeEventStream } from './node-event-stream'
import { nodeSocketTransport, nodeWebSocketServer } from './node-websocket'

try {
  const peer = (_request: Request, env: unknown) => (env as HttpBindings | undefined)?.incoming?.socket.remoteAddress ?? null
  const { app, config, logger, close } = await createLocalServer(process.env, upgradeWebSocket, nodeSocketTransport, peer, nodeBedrockFetch)
  const websocket = { server: nodeWebSocketServer(config) }
  const hostname = listenHost(config)
  // Event streams are written to the socket directly (node-event-stream.ts); everything else goes through the adapter.
  const fetch = async (request: Request, env: HttpBindings | Http2Bindings) =>
    takeEventStream(await app.fetch(request, env), env.outgoing instanceof ServerResponse ? env.outgoing : undefined)
  const server = serve({ fetch, port: config.PORT, hostname, websocket }, (info) => {
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
