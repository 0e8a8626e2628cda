/**
 * Counters in Redis, shared by every Node/Bun process that uses the same Redis: each operation is one Lua script,
 * atomic on the server. Operations started in the same event-loop turn (a limit check's, several turns') share one
 * request through @upstash/redis (the stream hub's command runner). Time is Redis's own (TIME), so processes with
 * skewed clocks agree on expiry.
 */
import type { Redis } from '@upstash/redis'
import { commandRunner } from '../stream/redis-commands'
import type { Counters } from './counters'

const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

const INCREMENT = `local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`

/** KEYS: expiries (zset holder → expiry), amounts (hash holder → amount); ARGV: holder, amount, ttlMs. */
const HOLD = `${NOW}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, holder in ipairs(expired) do redis.call('HDEL', KEYS[2], holder) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local last = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
redis.call('PEXPIREAT', KEYS[1], last)
redis.call('PEXPIREAT', KEYS[2], last)
local total = 0
for _, amount in ipairs(redis.call('HVALS', KEYS[2])) do total = total + tonumber(amount) end
return total`

const RELEASE = `redis.call('ZREM', KEYS[1], ARGV[1]) redis.call('HDEL', KEYS[2], ARGV[1]) return 0`

export function createRedisCounters(redis: Redis, prefix = 'edgechat:limits:'): Counters {
  // The key's name in braces: a hold's two keys land in the same cluster slot.
  const counter = (key: string) => `${prefix}{${key}}`
  const holdKeys = (key: string) => [`${prefix}{${key}}:expiries`, `${prefix}{${key}}:amounts`]
  const runner = commandRunner(redis)
  const send = async (name: string, add: Parameters<typeof runner.run>[0][0]['add']) => {
    const [reply] = await runner.run([{ name, add }])
    if (reply?.error) throw new Error(`Redis ${name}: ${reply.error}`)
    return Number(reply?.result ?? 0)
  }
  // Scripts go by their SHA-1 (EVALSHA: a small request); one Redis does not know yet (NOSCRIPT) is sent whole once.
  const digests = new Map<string, Promise<string>>()
  const sha1 = (script: string) => {
    let digest = digests.get(script)
    if (!digest) {
      digest = crypto.subtle.digest('SHA-1', new TextEncoder().encode(script)).then((bytes) => [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, '0')).join(''))
      digests.set(script, digest)
    }
    return digest
  }
  const run = async (script: string, keys: string[], args: (string | number)[]) => {
    const values = args.map(String)
    const sha = await sha1(script)
    try {
      return await send('EVALSHA', (pipeline) => void pipeline.evalsha(sha, keys, values))
    } catch (error) {
      if (!String(error).includes('NOSCRIPT')) throw error
      return send('EVAL', (pipeline) => void pipeline.eval(script, keys, values))
    }
  }
  return {
    increment: (key, delta, ttlMs) => run(INCREMENT, [counter(key)], [delta, Math.max(1, Math.ceil(ttlMs))]),
    get: (key) => send('GET', (pipeline) => void pipeline.get(counter(key))),
    hold: (key, holder, amount, ttlMs) => run(HOLD, holdKeys(key), [holder, amount, Math.max(1, Math.ceil(ttlMs))]),
    release: async (key, holder) => void (await run(RELEASE, holdKeys(key), [holder])),
  }
}
