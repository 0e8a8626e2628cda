import { upgradeWebSocket, websocket } from 'hono/bun'
import { ConfigError } from '../config'
import { createLocalServer } from './local'

const started = await createLocalServer(process.env, upgradeWebSocket).catch((error: unknown) => {
  if (!(error instanceof ConfigError)) throw error
  console.error(error.message)
  process.exit(1)
})

started.logger.info(`EdgeChat listening on http://localhost:${started.config.PORT}`, {
  runtime: 'bun',
  port: started.config.PORT,
  database: started.config.DATABASE_URL,
})

// Bun closes connections idle for 10 s by default; SSE streams stay quiet up to the 15 s ping.
export default { fetch: started.app.fetch, port: started.config.PORT, idleTimeout: 60, websocket }
