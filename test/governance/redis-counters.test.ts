/** The counters conformance suite on the real redis-server (127.0.0.1:6379) through the Upstash REST bridge: two clients, like two processes. Fails, not skips, without Redis. */
import { createRedisCounters } from '../../src/governance/redis-counters'
import { startRedisBridge } from '../redis-bridge/bridge'
import { describeCounterConformance } from './counter-conformance'

describeCounterConformance('redis', async () => {
  const bridge = await startRedisBridge()
  const prefix = `test:counters:${process.pid}:${Date.now()}:`
  return {
    a: createRedisCounters(bridge.client(), prefix),
    b: createRedisCounters(bridge.client(), prefix),
    close: async () => {
      await bridge.raw([['EVAL', `for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end`, '0', `${prefix}*`]])
      await bridge.close()
    },
  }
})
