/**
 * The Redis hub against the real redis-server on 127.0.0.1:6379, through the Upstash REST bridge (these tests
 * fail, not skip, when Redis is unreachable). The conformance suite runs with the owner and the remote as two
 * hubs with two clients, like two server processes; then what only Redis has: owner death, retried writes,
 * TTLs, the cost in commands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GenerationEvent, SequencedEvent } from '../../src/stream/events'
import type { GenerationTask, ProducerContext, TaskRunner } from '../../src/stream/hub'
import { streamEntries, entryEvents } from '../../src/stream/redis-commands'
import { createRedisHub, type RedisHub, type RedisHubOptions } from '../../src/stream/redis-hub'
import { startRedisBridge, type RedisBridge } from '../redis-bridge/bridge'
import { describeHubConformance, sleep, until } from './hub-conformance'

const uniquePrefix = (name: string) => `test:${name}:${process.pid}:${Date.now()}:`

async function deleteKeys(bridge: RedisBridge, prefix: string) {
  await bridge.raw([['EVAL', `for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end`, '0', `${prefix}*`]])
}

describeHubConformance('redis', async (run, { retentionMs, staleMs }) => {
  const bridge = await startRedisBridge()
  const prefix = uniquePrefix('conformance')
  const hub = () => createRedisHub({ redis: bridge.client(), run, retentionMs, staleMs, prefix })
  const owner = hub()
  const remote = hub()
  return {
    owner,
    remote,
    close: async () => {
      await owner.close()
      await remote.close()
      await deleteKeys(bridge, prefix)
      await bridge.close()
    },
  }
})

// ---------------------------------------------------------------------------------------------------------
// Redis-specific behaviour
// ---------------------------------------------------------------------------------------------------------

const RETENTION_MS = 1_500
const STALE_MS = 1_000

type Script = (context: ProducerContext, generationId: string) => Promise<void>

const started = (generationId: string): GenerationEvent => ({
  type: 'generation.started',
  data: { generationId, conversationId: 'c', userMessageId: 'u', assistantMessageId: 'a', modelId: 'm' },
})
const delta = (generationId: string, text: string): GenerationEvent => ({ type: 'text.delta', data: { generationId, delta: text } })
const completed = (generationId: string): GenerationEvent => ({
  type: 'generation.completed',
  data: { generationId, assistantMessageId: 'a', stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 },
})

async function collect(events: AsyncIterable<SequencedEvent[]> | null, timeoutMs = 10_000): Promise<SequencedEvent[]> {
  if (!events) throw new Error('generation unknown to the hub')
  const all: SequencedEvent[] = []
  const reading = (async () => {
    for await (const batch of events) all.push(...batch)
  })()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`subscription did not end within ${timeoutMs} ms (got ${all.length} events)`)), timeoutMs)
  })
  try {
    await Promise.race([reading, timeout])
  } finally {
    clearTimeout(timer)
  }
  return all
}


/** An abortable wait: resolves after `ms`, or when the signal fires. */
const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })

describe('redis hub', () => {
  let bridge: RedisBridge
  const prefix = uniquePrefix('hub')
  const scripts = new Map<string, Script>()
  const run: TaskRunner = (task: GenerationTask, context) => {
    const script = scripts.get(task.generationId)
    if (!script) throw new Error(`no script for ${task.generationId}`)
    return script(context, task.generationId)
  }
  const hubs: RedisHub[] = []
  const hub = (options: Partial<RedisHubOptions> = {}) => {
    const created = createRedisHub({ redis: bridge.client(), run, retentionMs: RETENTION_MS, staleMs: STALE_MS, prefix, ...options })
    hubs.push(created)
    return created
  }
  let counter = 0
  const start = async (owner: RedisHub, script: Script) => {
    const generationId = `gen_redis_${Date.now()}_${++counter}`
    scripts.set(generationId, script)
    await owner.start({ generationId, conversationId: 'c', task: 'test', input: null })
    return generationId
  }
  const key = (id: string, part: 'state' | 'events' | 'cancel') => `${prefix}gen:${id}:${part}`
  const rawEntries = async (id: string) => streamEntries(rawToStrings((await bridge.raw([['XRANGE', key(id, 'events'), '-', '+']]))[0]))
  const pttl = async (name: string) => Number((await bridge.raw([['PTTL', name]]))[0])

  /** A producer that streams deltas every `gapMs` until it is aborted; it never emits a terminal event. */
  const endless =
    (gapMs = 20): Script =>
    async ({ emit, signal }, id) => {
      emit(started(id))
      for (let i = 0; !signal.aborted; i++) {
        emit(delta(id, `t${i} `))
        await wait(gapMs, signal)
      }
    }

  beforeAll(async () => {
    bridge = await startRedisBridge()
  })
  afterAll(async () => {
    for (const created of hubs) await created.close()
    if (bridge) {
      await deleteKeys(bridge, prefix)
      await bridge.close()
    }
  })

  it('Redis refuses a second XADD with the same explicit id (what makes retried writes safe)', async () => {
    const redis = bridge.client()
    const stream = `${prefix}xadd-probe`
    expect(await redis.xadd(stream, '5-0', { e: '[]' })).toBe('5-0')
    await expect(redis.xadd(stream, '5-0', { e: '[]' })).rejects.toThrow(/equal or smaller than the target stream top item/)
    await expect(redis.xadd(stream, '3-0', { e: '[]' })).rejects.toThrow(/equal or smaller/)
  })

  it('does not duplicate events when a write succeeded but its reply was lost (retried XADD rejected)', async () => {
    const owner = hub()
    const remote = hub()
    bridge.inject({ kind: 'lose-reply', match: (commands) => commands.some(([name]) => name === 'XADD'), times: 3 })
    const before = bridge.stats().byCommand.XADD ?? 0
    const id = await start(owner, async ({ emit }, generationId) => {
      emit(started(generationId))
      for (let i = 0; i < 20; i++) {
        await sleep(5)
        emit(delta(generationId, `t${i} `))
      }
      emit(completed(generationId))
    })
    const local = await collect(await owner.subscribe(id, 0))
    const events = await collect(await remote.subscribe(id, 0))
    bridge.clearFaults()
    for (const seen of [local, events]) {
      expect(seen.map((e) => e.id)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1))
      expect(seen.filter((e) => e.type === 'text.delta').map((e) => (e.data as { delta: string }).delta)).toEqual(
        Array.from({ length: 20 }, (_, i) => `t${i} `),
      )
    }
    const entries = await rawEntries(id)
    const stored = entries.flatMap(entryEvents)
    expect(stored.map((e) => e.id)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1))
    // Each lost reply cost one retry: more XADDs were sent than entries exist.
    expect((bridge.stats().byCommand.XADD ?? 0) - before).toBeGreaterThanOrEqual(entries.length + 3)
  })

  it('marks a generation failed (interrupted) once when its owner dies, and every remote follower ends', async () => {
    const owner = hub()
    const followers = [hub(), hub()]
    const id = await start(owner, endless())
    const following = followers.map(async (follower) => {
      const subscription = await follower.subscribe(id, 0)
      const events = await collect(subscription, 10_000)
      return { events, endedAt: Date.now() }
    })
    await until(async () => ((await followers[0]!.status(id))?.lastEventId ?? 0) >= 5)
    const diedAt = Date.now()
    await owner.close() // no terminal, no more heartbeats: as if the process died

    const results = await Promise.all(following)
    for (const { events, endedAt } of results) {
      // Detection takes about staleMs; the bound is wide so a loaded machine cannot break it.
      expect(endedAt - diedAt).toBeLessThan(STALE_MS * 10)
      expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1))
      expect(events.at(-1)).toMatchObject({ type: 'generation.failed', data: { generationId: id, code: 'interrupted' } })
      expect(events.filter((e) => e.type.startsWith('generation.') && e.type !== 'generation.started')).toHaveLength(1)
    }
    expect(results[0]!.events).toEqual(results[1]!.events)
    const last = results[0]!.events.at(-1)!.id
    // Exactly one failed event in the stream, whoever noticed first.
    const stored = (await rawEntries(id)).flatMap(entryEvents)
    expect(stored.filter((e) => e.type === 'generation.failed')).toHaveLength(1)
    expect(stored.map((e) => e.id)).toEqual(Array.from({ length: last }, (_, i) => i + 1))
    expect(await followers[0]!.status(id)).toEqual({ state: 'failed', lastEventId: last })
    expect(await followers[1]!.cancel(id)).toBe(false)
    // Final: a late subscriber replays the same ending, and retention applies.
    expect((await collect(await followers[1]!.subscribe(id, 0))).at(-1)).toEqual(results[0]!.events.at(-1))
    expect(await pttl(key(id, 'state'))).toBeLessThanOrEqual(RETENTION_MS)
  })

  it('status() takes over a dead owner’s generation when nobody follows it', async () => {
    const owner = hub()
    const reader = hub()
    const id = await start(owner, endless())
    await until(async () => ((await reader.status(id))?.lastEventId ?? 0) >= 3)
    await owner.close()
    expect((await reader.status(id))?.state).toBe('running') // the heartbeat has not expired yet
    await sleep(STALE_MS + 200)
    const status = await reader.status(id)
    expect(status?.state).toBe('failed')
    const events = await collect(await reader.subscribe(id, 0))
    expect(events.at(-1)).toMatchObject({ id: status!.lastEventId, type: 'generation.failed', data: { code: 'interrupted' } })
  })

  it('keeps keys alive while running and expires them after the retention window', async () => {
    const owner = hub()
    const reader = hub()
    let finish!: () => void
    const release = new Promise<void>((resolve) => (finish = resolve))
    const id = await start(owner, async ({ emit }, generationId) => {
      emit(started(generationId))
      await release
      emit(completed(generationId))
    })
    await until(async () => ((await reader.status(id))?.lastEventId ?? 0) >= 1)
    const runTtl = RETENTION_MS + 3 * STALE_MS
    for (const name of [key(id, 'state'), key(id, 'events')]) {
      const ttl = await pttl(name)
      expect(ttl).toBeGreaterThan(RETENTION_MS)
      expect(ttl).toBeLessThanOrEqual(runTtl)
    }
    const ownerTtl = await pttl(`${prefix}owner:${owner.ownerId}`)
    expect(ownerTtl).toBeGreaterThan(0)
    expect(ownerTtl).toBeLessThanOrEqual(STALE_MS)
    // The heartbeat and the running TTLs are refreshed while it runs.
    await sleep(STALE_MS * 1.5)
    expect(await pttl(`${prefix}owner:${owner.ownerId}`)).toBeGreaterThan(0)
    expect(await pttl(key(id, 'state'))).toBeGreaterThan(RETENTION_MS)
    expect((await reader.status(id))?.state).toBe('running')

    finish()
    await until(async () => (await reader.status(id))?.state === 'completed')
    // Both keys drop to the retention window, also when a running-TTL refresh was in flight as the generation ended.
    for (const name of [key(id, 'state'), key(id, 'events')]) {
      await until(async () => {
        const ttl = await pttl(name)
        return ttl > 0 && ttl <= RETENTION_MS
      }, 10_000, `${name} expiring within the retention window`)
    }
    await until(async () => JSON.stringify(await bridge.raw([['EXISTS', key(id, 'state'), key(id, 'events')]])) === '[0]', 10_000, 'expiry')
    expect(await reader.status(id)).toBeNull()
    expect(await reader.subscribe(id, 0)).toBeNull()
  })

  it('ends local followers with generation.failed (interrupted) when Redis stays unreachable for staleMs', async () => {
    const owner = hub()
    const id = await start(owner, endless(50))
    bridge.inject({ kind: 'unavailable', match: (commands) => commands.some(([name]) => name === 'XADD'), times: 1_000 })
    const events = await collect(await owner.subscribe(id, 0), STALE_MS * 3)
    bridge.clearFaults()
    expect(events.at(-1)).toMatchObject({ type: 'generation.failed', data: { code: 'interrupted' } })
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1))
    // Redis then agrees, at the same sequence number, once the owner's heartbeat lapses.
    const reader = hub()
    await sleep(STALE_MS + 200)
    expect(await reader.status(id)).toEqual({ state: 'failed', lastEventId: events.at(-1)!.id })
    const stored = await collect(await reader.subscribe(id, 0))
    expect(stored.at(-1)).toEqual(events.at(-1))
  })

  it('fails status() (so /ready is 503) when Redis cannot be reached', async () => {
    const other = await startRedisBridge()
    const stranded = createRedisHub({ redis: other.client(), run, retentionMs: RETENTION_MS, staleMs: STALE_MS, prefix })
    expect(await stranded.status('gen_readiness_probe')).toBeNull()
    await other.close()
    await expect(stranded.status('gen_readiness_probe')).rejects.toThrow()
    await stranded.close()
  })

  it('calls a generation orphaned only when Redis does not know it and it is old', async () => {
    const reader = hub()
    expect(await reader.isOrphaned('gen_never_started', new Date(Date.now() - 60_000))).toBe(true)
    expect(await reader.isOrphaned('gen_just_claimed', new Date())).toBe(false)
  })

  it('feeds followers in the owner’s process from memory, and sends the first token at once', async () => {
    const owner = hub()
    const id = await start(owner, async ({ emit }, generationId) => {
      emit(started(generationId))
      await sleep(200)
      for (let i = 0; i < 50; i++) {
        emit(delta(generationId, `t${i} `))
        await sleep(10)
      }
      emit(completed(generationId))
    })
    const before = owner.stats()
    const subscription = (await owner.subscribe(id, 0))!
    const arrivals: { id: number; at: number }[] = []
    for await (const batch of subscription) for (const event of batch) arrivals.push({ id: event.id, at: performance.now() })
    const after = owner.stats()
    expect(arrivals.map((a) => a.id)).toEqual(Array.from({ length: 52 }, (_, i) => i + 1))
    // The first delta after a quiet spell is written at once, alone in its stream entry, not held for the batch window
    // (which would have gathered the deltas that follow it every 10 ms).
    const text = (value: unknown): unknown => (Array.isArray(value) ? value.map(text) : value instanceof Uint8Array ? new TextDecoder().decode(value) : value)
    const [firstDeltaEntry] = streamEntries(text((await bridge.raw([['XRANGE', key(id, 'events'), '2-0', '2-0']]))[0]))
    expect(firstDeltaEntry && entryEvents(firstDeltaEntry).map((event) => event.id)).toEqual([2])
    // Following from memory reads nothing from Redis.
    expect(after.byCommand.XRANGE ?? 0).toBe(before.byCommand.XRANGE ?? 0)
    expect(after.byCommand.XREVRANGE ?? 0).toBe(before.byCommand.XREVRANGE ?? 0)
  })

  it('backs off while a followed generation is idle (no busy loop), and resumes promptly', async () => {
    const owner = hub()
    const remote = hub({ pollMs: 500 })
    let resume!: () => void
    const quiet = new Promise<void>((resolve) => (resume = resolve))
    const id = await start(owner, async ({ emit }, generationId) => {
      emit(started(generationId))
      await quiet
      emit(delta(generationId, 'after the pause'))
      emit(completed(generationId))
    })
    const before = remote.stats().byCommand
    const following = collect(await remote.subscribe(id, 0))
    await sleep(1_500)
    const reads = (remote.stats().byCommand.XRANGE ?? 0) - (before.XRANGE ?? 0)
    expect(reads).toBeGreaterThan(0)
    expect(reads).toBeLessThanOrEqual(12) // 25 ms growing to 500 ms: not 60 polls at a fixed 25 ms
    const resumedAt = Date.now()
    resume()
    const events = await following
    expect(Date.now() - resumedAt).toBeLessThan(5_000) // the idle poll is capped at pollMs (500 ms), not backing off for ever
    expect(events.map((e) => e.type)).toEqual(['generation.started', 'text.delta', 'generation.completed'])
  })

  it('shares one HTTP request among generations writing in the same moment', async () => {
    const owner = hub()
    const before = owner.stats()
    const ids = await Promise.all(
      Array.from({ length: 20 }, () =>
        start(owner, async ({ emit }, generationId) => {
          emit(started(generationId))
          for (let i = 0; i < 20; i++) {
            await sleep(10)
            emit(delta(generationId, `t${i}`))
          }
          emit(completed(generationId))
        }),
      ),
    )
    const all = await Promise.all(ids.map(async (id) => collect(await owner.subscribe(id, 0))))
    for (const events of all) expect(events).toHaveLength(22)
    const after = owner.stats()
    const xadds = (after.byCommand.XADD ?? 0) - (before.byCommand.XADD ?? 0)
    expect(xadds).toBeGreaterThanOrEqual(20 * 3)
    expect(after.requests - before.requests).toBeLessThan(xadds / 3)
  })

  it('costs few Redis commands per turn: report for a 50-token turn', async () => {
    const owner = hub()
    const remote = hub()
    const ownerBefore = owner.stats()
    const remoteBefore = remote.stats()
    // The emulator's realistic pacing: 200 ms to the first token, 10 ms per token, 50 tokens.
    const id = await start(owner, async ({ emit }, generationId) => {
      emit(started(generationId))
      await sleep(200)
      for (let i = 0; i < 50; i++) {
        emit(delta(generationId, `t${i} `))
        await sleep(10)
      }
      emit({ type: 'usage', data: { generationId, inputTokens: 10, outputTokens: 50 } })
      emit(completed(generationId))
    })
    const [local, followed] = await Promise.all([collect(await owner.subscribe(id, 0)), collect(await remote.subscribe(id, 0))])
    expect(local).toEqual(followed)
    await sleep(50) // the final state write
    const ownerCost = owner.stats().commands - ownerBefore.commands
    const remoteCost = remote.stats().commands - remoteBefore.commands
    const entries = await rawEntries(id)
    const by = (after: Record<string, number>, before: Record<string, number>) =>
      Object.fromEntries(Object.entries(after).map(([name, n]) => [name, n - (before[name] ?? 0)]).filter(([, n]) => Number(n) > 0))
    console.log(
      `[redis hub] 50-token turn (53 events, ${entries.length} stream entries): owner ${ownerCost} commands ` +
        `${JSON.stringify(by(owner.stats().byCommand, ownerBefore.byCommand))}; one remote follower ${remoteCost} commands ` +
        `${JSON.stringify(by(remote.stats().byCommand, remoteBefore.byCommand))}`,
    )
    expect(ownerCost).toBeLessThanOrEqual(30)
    expect(entries.length).toBeLessThan(20)
    expect(remoteCost).toBeLessThanOrEqual(40)
  })
})

/** Raw replies hold Buffers; the parser wants strings. */
function rawToStrings(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (Array.isArray(value)) return value.map(rawToStrings)
  return value
}
