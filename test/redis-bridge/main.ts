/**
 * Runs the bridge on its own: `tsx test/redis-bridge/main.ts [--token T]` prints one JSON line
 * `{"url":…,"token":…}` (the UPSTASH_REDIS_REST_URL and _TOKEN to give EdgeChat) and serves until SIGINT/SIGTERM.
 * For local development and benchmarks against the redis-server on 127.0.0.1:6379.
 */
import { parseArgs } from 'node:util'
import { startRedisBridge } from './bridge'

const { values } = parseArgs({ options: { token: { type: 'string' }, 'redis-port': { type: 'string' } } })
const bridge = await startRedisBridge({ token: values.token, redisPort: values['redis-port'] ? Number(values['redis-port']) : undefined })
console.log(JSON.stringify({ url: bridge.url, token: bridge.token }))
const stop = () => {
  const { requests, commands } = bridge.stats()
  console.error(JSON.stringify({ requests, commands }))
  void bridge.close().then(() => process.exit(0))
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
