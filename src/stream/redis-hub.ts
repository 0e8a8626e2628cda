/**
 * The Redis hub: generations shared by several server processes through Redis (Upstash over REST, so no
 * blocking reads and every command billed). Design (see shared/reference/platform-limits.md, "Consequences"):
 *
 * - The process that starts a generation owns it: its producer runs here. Events are numbered here and
 *   persisted, then broadcast: one XADD per batch into the stream `…gen:{id}:events`, with the explicit id
 *   `${firstSeq}-0`. Redis rejects an id at or below the stream's top, so a retried XADD is refused, not
 *   duplicated, and the id is also a compare-and-set: whoever writes a slot first wins it (see "takeover").
 * - Batching is latency-adaptive: an event that arrives when nothing was written for `flushMs` goes out at
 *   once (on the next microtask, so same-tick events share it: the first token is never held back); events
 *   arriving faster are written at most once per `flushMs` per generation, one write in flight at a time.
 * - Subscribers in the owner's process follow its memory (persisted events only, so what they see a replay can
 *   reproduce); no Redis round trip per event.
 * - Other processes follow the stream: one XRANGE from the cursor (plus one XREVRANGE to find a batch that
 *   starts before it), then XRANGE from the last entry, backing off from 25 ms to `pollMs` while idle; events
 *   are deduplicated by sequence number.
 * - `…gen:{id}:state` holds `running:<ownerId>` while running, then the final state; `…owner:<ownerId>` is the
 *   owning process's heartbeat (one key per process, refreshed every staleMs/3 while it owns generations, TTL
 *   staleMs). Everything has a TTL: retention + 3 × staleMs while running (refreshed), `retentionMs` once
 *   finished.
 * - Cancel: a remote `cancel` sets `…gen:{id}:cancel`; the owner reads the cancel keys of all its running
 *   generations with one MGET every `cancelPollMs` and aborts the producer's AbortController.
 * - Takeover: a reader (a remote follower idle for a while, or `status`) that finds a generation running under
 *   a dead owner (no heartbeat key) appends `generation.failed` (code `interrupted`) in the next slot and sets
 *   the state to failed. Because the slot id is a compare-and-set, this happens once, and never after a
 *   terminal event; an owner that was only slow finds its slot taken, stops and aborts its producer.
 */
import type { Redis } from '@upstash/redis'
import { isTerminal, sequenced, stateOf, type GenerationEvent, type GenerationState, type SequencedEvent, type TerminalEvent } from './events'
import { GenerationInterrupted, type GenerationHub, type GenerationTask, type HubStatus, type TaskRunner } from './hub'
import { WakeGroup } from './wake-group'
import { cmd, commandRunner, entryEvents, streamEntries, type CommandStats, type Reply, type StreamEntry } from './redis-commands'

export interface RedisHubOptions {
  /** An @upstash/redis client; build it with `createUpstashRedis` (automaticDeserialization off). */
  redis: Redis
  run: TaskRunner
  /** How long finished generations stay readable (STREAM_RETENTION_SECONDS). */
  retentionMs: number
  /** How long without a heartbeat before an owner is taken for dead (STREAM_STALE_SECONDS). */
  staleMs: number
  /** This process's identity in Redis; random by default. */
  ownerId?: string
  /** Longest wait between polls of an idle remote follower (polls start at 25 ms and back off). Default 500. */
  pollMs?: number
  /** How often the owner looks for cancel requests from other processes (one MGET for all). Default 250. */
  cancelPollMs?: number
  /** At most one write per generation per this window while events stream. Default 50. */
  flushMs?: number
  /** Key prefix. Default `edgechat:`. */
  prefix?: string
  /** Called on Redis trouble the hub works around (retries, heartbeats, takeovers). */
  onWarning?: (message: string, details: Record<string, unknown>) => void
}

export interface RedisHub extends GenerationHub {
  readonly ownerId: string
  /** Redis commands and requests this hub has sent. */
  stats(): CommandStats
  /**
   * Stops talking to Redis at once, as if the process died: running producers are aborted, nothing more is
   * written (no terminal event, no heartbeat), subscriptions of this hub end. Other processes then mark its
   * running generations failed once its heartbeat expires.
   */
  close(): Promise<void>
}

const MIN_POLL_MS = 25
const POLL_BACKOFF = 1.5
const PAGE_ENTRIES = 100
const MAX_BATCH_EVENTS = 512
/** Keeps an entry, and so a page of PAGE_ENTRIES, well under Upstash's 10 MB per request. */
const MAX_BATCH_BYTES = 64 * 1024
/** A generation unknown to Redis this long after its database row was written is not coming. */
const ORPHAN_GRACE_MS = 10_000
const XADD_REJECTED = /equal or smaller than the target stream top item/i

export function interruptedEvent(generationId: string): GenerationEvent {
  return {
    type: 'generation.failed',
    data: {
      generationId,
      code: 'interrupted',
      message: 'The server running this generation stopped responding; the partial answer was kept',
      retryable: true,
    },
  }
}

interface Owned {
  id: string
  keys: Keys
  /** Persisted events, in order: events[i].id === i + 1. */
  events: SequencedEvent[]
  /** Numbered, not yet persisted. */
  pending: { event: SequencedEvent; json: string }[]
  nextSeq: number
  /** A terminal event was emitted: later events are ignored. */
  closed: boolean
  /** Nothing more is written (finished, lost or the hub closed). */
  halted: boolean
  /** The terminal event is persisted (or, Redis being unreachable, synthesized): followers end after draining. */
  finished: boolean
  /** Another process took the generation over: followers continue from Redis. */
  handedOff: boolean
  controller: AbortController
  wakers: WakeGroup
  flushing: boolean
  flushQueued: boolean
  timer: ReturnType<typeof setTimeout> | undefined
  lastFlushAt: number
  streamTtlSet: boolean
  ttlRefreshedAt: number
  settle: () => void
  settled: Promise<void>
  done: Promise<void>
}

interface Keys {
  state: string
  events: string
  cancel: string
}

type StoredState = { state: 'running'; owner: string } | { state: Exclude<GenerationState, 'running'> }

function parseState(value: unknown): StoredState | null {
  if (value === null || value === undefined) return null
  const text = String(value)
  if (text.startsWith('running:')) return { state: 'running', owner: text.slice('running:'.length) }
  if (text === 'completed' || text === 'failed' || text === 'cancelled') return { state: text }
  throw new Error(`unexpected generation state in Redis: ${JSON.stringify(text).slice(0, 80)}`)
}

function check(reply: Reply | undefined): unknown {
  if (!reply) throw new Error('Redis returned fewer replies than commands')
  if (reply.error) throw new Error(reply.error)
  return reply.result
}

/** The last event of the newest entry, and its sequence number. */
function topOf(reply: Reply | undefined): { lastSeq: number; terminal: TerminalEvent | null } {
  const [entry] = streamEntries(check(reply))
  if (!entry) return { lastSeq: 0, terminal: null }
  const last = entryEvents(entry).at(-1)
  if (!last) return { lastSeq: entry.first - 1, terminal: null }
  return { lastSeq: last.id, terminal: isTerminal(last) ? last : null }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export function createRedisHub(options: RedisHubOptions): RedisHub {
  const { run, retentionMs, staleMs } = options
  const ownerId = options.ownerId ?? `own_${crypto.randomUUID().replaceAll('-', '')}`
  const pollMs = Math.max(MIN_POLL_MS, options.pollMs ?? 500)
  const cancelPollMs = options.cancelPollMs ?? 250
  const flushMs = options.flushMs ?? 50
  const prefix = options.prefix ?? 'edgechat:'
  const warn = options.onWarning ?? (() => {})
  /** TTL of a running generation's keys (refreshed every staleMs by the owner). */
  const runTtlMs = retentionMs + 3 * staleMs
  const heartbeatMs = Math.max(1, Math.floor(staleMs / 3))
  /** How often an idle remote follower checks that the owner is alive. */
  const livenessCheckMs = Math.max(MIN_POLL_MS, Math.floor(staleMs / 4))

  const redis = commandRunner(options.redis)
  const exec = redis.run
  const keysOf = (id: string): Keys => ({ state: `${prefix}gen:${id}:state`, events: `${prefix}gen:${id}:events`, cancel: `${prefix}gen:${id}:cancel` })
  const ownerKey = (owner: string) => `${prefix}owner:${owner}`
  const myOwnerKey = ownerKey(ownerId)

  const owned = new Map<string, Owned>()
  const starting = new Set<string>()
  let closed = false

  // ---------------------------------------------------------------------------------------------------------
  // The owner's side: heartbeat and cancel polling (one request per tick for all its generations)
  // ---------------------------------------------------------------------------------------------------------

  let tickTimer: ReturnType<typeof setTimeout> | undefined
  let lastHeartbeat = 0
  const tickMs = Math.max(1, Math.min(cancelPollMs, heartbeatMs))

  const scheduleTick = () => {
    if (tickTimer || closed || owned.size === 0) return
    tickTimer = setTimeout(() => void tick(), tickMs)
    ;(tickTimer as { unref?: () => void }).unref?.()
  }

  const tick = async () => {
    try {
      const entries = [...owned.values()].filter((entry) => !entry.halted)
      if (entries.length === 0) return
      const now = Date.now()
      const commands = [cmd.mget(entries.map((entry) => entry.keys.cancel))]
      const beat = now - lastHeartbeat >= heartbeatMs
      if (beat) commands.push(cmd.set(myOwnerKey, '1', { px: staleMs }))
      const refreshed = entries.filter((entry) => now - entry.ttlRefreshedAt >= staleMs)
      for (const entry of refreshed) commands.push(cmd.pexpire(entry.keys.state, runTtlMs), cmd.pexpire(entry.keys.events, runTtlMs))
      const [cancels] = await exec(commands)
      if (closed) return
      if (beat) lastHeartbeat = now
      for (const entry of refreshed) entry.ttlRefreshedAt = now
      // A generation that ended while this refresh was in flight may have had its final expiry overtaken by it.
      const overtaken = refreshed.filter((entry) => entry.finished)
      if (overtaken.length > 0) {
        void exec(overtaken.flatMap((entry) => [cmd.pexpire(entry.keys.state, retentionMs), cmd.pexpire(entry.keys.events, retentionMs)])).catch(() => {})
      }
      const flags = check(cancels)
      if (Array.isArray(flags)) {
        entries.forEach((entry, i) => {
          if (flags[i] !== null && flags[i] !== undefined && !entry.controller.signal.aborted) entry.controller.abort()
        })
      }
    } catch (error) {
      warn('redis hub: heartbeat or cancel poll failed', { error: String(error) })
    } finally {
      tickTimer = undefined
      scheduleTick()
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // The owner's side: numbering, batching, persisting, then broadcasting
  // ---------------------------------------------------------------------------------------------------------

  const wake = (entry: Owned) => entry.wakers.wake()

  const emit = (entry: Owned, event: GenerationEvent) => {
    if (entry.closed || entry.halted) return
    const json = JSON.stringify(event)
    entry.pending.push({ event: sequenced(event, entry.nextSeq++), json })
    if (isTerminal(event)) entry.closed = true
    schedule(entry)
  }

  const schedule = (entry: Owned) => {
    if (entry.halted || entry.flushing || entry.pending.length === 0) return
    const wait = entry.closed || entry.pending.length >= MAX_BATCH_EVENTS ? 0 : entry.lastFlushAt + flushMs - Date.now()
    if (wait <= 0) {
      if (entry.timer) clearTimeout(entry.timer)
      entry.timer = undefined
      if (entry.flushQueued) return
      entry.flushQueued = true
      queueMicrotask(() => {
        entry.flushQueued = false
        void flush(entry)
      })
    } else if (!entry.timer) {
      entry.timer = setTimeout(() => {
        entry.timer = undefined
        void flush(entry)
      }, wait)
    }
  }

  const takeBatch = (entry: Owned) => {
    let bytes = 0
    let count = 0
    while (count < entry.pending.length && count < MAX_BATCH_EVENTS) {
      const size = entry.pending[count]!.json.length
      if (count > 0 && bytes + size > MAX_BATCH_BYTES) break
      bytes += size
      count++
    }
    const taken = entry.pending.splice(0, count)
    return { events: taken.map((item) => item.event), payload: `[${taken.map((item) => item.json).join(',')}]` }
  }

  /** Writes one batch: 'written' (also when a lost reply hid our own earlier success), 'lost' or 'unreachable'. */
  const write = async (entry: Owned, events: SequencedEvent[], payload: string): Promise<'written' | 'lost' | 'unreachable'> => {
    const slot = `${events[0]!.id}-0`
    const commands = [cmd.xadd(entry.keys.events, slot, { o: ownerId, e: payload })]
    if (!entry.streamTtlSet) commands.push(cmd.pexpire(entry.keys.events, runTtlMs))
    const deadline = Date.now() + staleMs
    let delay = 50
    for (;;) {
      if (entry.halted) return 'lost'
      try {
        const [added] = await exec(commands)
        if (!added?.error) {
          entry.streamTtlSet = true
          return 'written'
        }
        if (!XADD_REJECTED.test(added.error)) throw new Error(added.error)
        // The slot is taken: by an earlier attempt of ours whose reply was lost, or by a takeover.
        const [found] = streamEntries(check((await exec([cmd.xrange(entry.keys.events, slot, slot, 1)]))[0]))
        if (found && String(found.fields.o) === ownerId) {
          entry.streamTtlSet = true
          return 'written'
        }
        return 'lost'
      } catch (error) {
        if (Date.now() + delay > deadline) {
          warn('redis hub: giving up writing a generation', { generationId: entry.id, error: String(error) })
          return 'unreachable'
        }
        warn('redis hub: write failed, retrying', { generationId: entry.id, error: String(error) })
        await sleep(delay)
        delay = Math.min(delay * 2, 1_000)
      }
    }
  }

  const release = (entry: Owned) => {
    entry.halted = true
    entry.pending = []
    if (entry.timer) clearTimeout(entry.timer)
    entry.timer = undefined
    if (owned.get(entry.id) === entry) owned.delete(entry.id)
    wake(entry)
    entry.settle()
  }

  const flush = async (entry: Owned) => {
    if (entry.halted || entry.flushing || entry.pending.length === 0) return
    entry.flushing = true
    entry.lastFlushAt = Date.now()
    const { events, payload } = takeBatch(entry)
    try {
      const outcome = await write(entry, events, payload)
      if (closed) return // close() released the entry meanwhile
      if (outcome === 'written') {
        entry.events.push(...events)
        wake(entry)
        const last = events.at(-1)!
        if (isTerminal(last)) {
          entry.finished = true
          release(entry)
          try {
            await exec([cmd.set(entry.keys.state, stateOf(last), { xx: true, px: retentionMs }), cmd.pexpire(entry.keys.events, retentionMs)])
          } catch (error) {
            // The terminal event is stored; readers take the state from it and the keys still expire.
            warn('redis hub: could not record the final state', { generationId: entry.id, error: String(error) })
          }
        }
      } else if (outcome === 'lost') {
        warn('redis hub: another process marked this generation failed; stopping it', { generationId: entry.id })
        entry.handedOff = true
        entry.controller.abort(new GenerationInterrupted('another process marked the generation interrupted'))
        release(entry)
      } else {
        // Redis out of reach for staleMs: end local followers as a takeover ends remote ones (the same event at
        // the same place, unless a write of ours landed unanswered), and record it once Redis answers.
        entry.events.push(sequenced(interruptedEvent(entry.id), entry.events.length + 1))
        entry.finished = true
        entry.controller.abort(new GenerationInterrupted('the stream state (Redis) was out of reach'))
        release(entry)
        void recordInterruption(entry.id)
      }
    } finally {
      entry.flushing = false
      schedule(entry)
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Readers: status, takeover of generations whose owner died
  // ---------------------------------------------------------------------------------------------------------

  /**
   * Appends `generation.failed` (interrupted) after the newest event of a generation still running, and sets
   * its final state: for a dead owner (`takeover`, checked here), or by the owner itself after Redis was out of
   * reach (`own`). The slot id makes it happen once, never after a terminal event. True when it is done (by
   * us or by someone else), false when the generation turned out to be alive.
   */
  const interrupt = async (id: string, mode: 'takeover' | 'own' = 'takeover'): Promise<boolean> => {
    const keys = keysOf(id)
    const [stateReply, topReply] = await exec([cmd.get(keys.state), cmd.xrevrange(keys.events, '+', '-', 1)])
    const state = parseState(check(stateReply))
    const top = topOf(topReply)
    if (state?.state !== 'running' || top.terminal) return true
    if (mode === 'takeover') {
      if (owned.has(id)) return false
      const [alive] = await exec([cmd.exists(ownerKey(state.owner))])
      if (Number(check(alive)) > 0) return false
    }
    const seq = top.lastSeq + 1
    const [added] = await exec([cmd.xadd(keys.events, `${seq}-0`, { o: `${mode}:${ownerId}`, e: JSON.stringify([interruptedEvent(id)]) })])
    if (added?.error) {
      if (XADD_REJECTED.test(added.error)) return mode === 'takeover' // the slot was taken first: look again
      throw new Error(added.error)
    }
    if (mode === 'takeover') warn('redis hub: marked a generation failed: its owner stopped heartbeating', { generationId: id, owner: state.owner })
    await exec([cmd.set(keys.state, 'failed', { xx: true, px: retentionMs }), cmd.pexpire(keys.events, retentionMs)])
    return true
  }

  /** After giving up on Redis: records the interruption there once it answers again, so remote readers end too. */
  const recordInterruption = async (id: string) => {
    const deadline = Date.now() + runTtlMs
    let delay = 1_000
    while (!closed && Date.now() < deadline) {
      try {
        if (await interrupt(id, 'own')) return
      } catch {
        // still unreachable
      }
      await sleep(delay)
      delay = Math.min(delay * 2, 30_000)
    }
  }

  const status = async (id: string, takeover = true): Promise<HubStatus | null> => {
    const keys = keysOf(id)
    const [stateReply, topReply] = await exec([cmd.get(keys.state), cmd.xrevrange(keys.events, '+', '-', 1)])
    const state = parseState(check(stateReply))
    if (!state) return null
    const top = topOf(topReply)
    if (top.terminal) return { state: stateOf(top.terminal), lastEventId: top.lastSeq }
    if (state.state !== 'running') return { state: state.state, lastEventId: top.lastSeq }
    const local = owned.get(id)
    if (local && !local.halted) return { state: 'running', lastEventId: top.lastSeq }
    if (takeover) {
      const [alive] = await exec([cmd.exists(ownerKey(state.owner))])
      if (Number(check(alive)) === 0) {
        await interrupt(id)
        return status(id, false)
      }
    }
    return { state: 'running', lastEventId: top.lastSeq }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Subscriptions: from the owner's memory, or by polling the stream
  // ---------------------------------------------------------------------------------------------------------

  class Subscription implements AsyncIterableIterator<SequencedEvent[]> {
    private ended = false
    /** Events read but not yet handed out. */
    private buffered: SequencedEvent[] = []
    private wakeUp: (() => void) | null = null
    /** Remote reading position: the last entry read, or null to (re)seek from the cursor. */
    private lastEntryId: string | null = null
    private seeked = false
    private delay = MIN_POLL_MS
    /** A wait before the next read, after one that found events. */
    private pause = 0
    /** The state says finished: one more read, then the subscription ends even without a terminal event. */
    private finalRead = false
    private lastProgress = Date.now()
    private lastLivenessCheck = Date.now()
    private owner: string | null

    constructor(
      private readonly id: string,
      private cursor: number,
      private local: Owned | null,
      initial: { entries: StreamEntry[]; owner: string | null } | null,
    ) {
      this.owner = initial?.owner ?? null
      if (initial) {
        this.seeked = true
        this.buffered = this.consume(initial.entries)
      }
    }

    [Symbol.asyncIterator]() {
      return this
    }

    async next(): Promise<IteratorResult<SequencedEvent[]>> {
      try {
        for (;;) {
          if (this.buffered.length > 0) {
            const batch = this.buffered
            this.buffered = []
            return { done: false, value: batch }
          }
          if (this.ended || closed) return this.finish()
          if (this.local) {
            const entry = this.local
            if (entry.events.length > this.cursor) {
              const batch = entry.events.slice(this.cursor)
              this.cursor = entry.events.length
              if (isTerminal(batch.at(-1)!)) this.ended = true
              return { done: false, value: batch }
            }
            if (entry.finished) return this.finish()
            if (entry.handedOff) {
              this.local = null
              continue
            }
            await new Promise<void>((resolve) => {
              this.wakeUp = resolve
              entry.wakers.add(resolve)
            })
            continue
          }
          await this.poll()
        }
      } catch (error) {
        this.finish()
        throw error
      }
    }

    async return(): Promise<IteratorResult<SequencedEvent[]>> {
      return this.finish()
    }

    private finish(): IteratorResult<SequencedEvent[]> {
      this.ended = true
      this.buffered = []
      this.wakeUp?.()
      this.wakeUp = null
      return { done: true, value: undefined }
    }

    /** Events of the entries with id > cursor (dedupe at the hand-off), moving the reading position on. */
    private consume(entries: StreamEntry[]): SequencedEvent[] {
      const fresh: SequencedEvent[] = []
      for (const entry of entries) {
        this.lastEntryId = entry.id
        for (const event of entryEvents(entry)) {
          if (event.id <= this.cursor) {
            if (isTerminal(event)) this.ended = true // a cursor at or past the end: nothing more will come
            continue
          }
          fresh.push(event)
          this.cursor = event.id
          if (isTerminal(event)) this.ended = true
        }
        if (this.ended) break
      }
      return fresh
    }

    /** One read of the stream; sleeps (backing off) when there was nothing new. */
    private async poll(): Promise<void> {
      if (this.pause > 0) {
        // Just read something: the owner writes at most once per flush window, so polling sooner is wasted.
        await this.sleep(this.pause)
        this.pause = 0
        if (this.ended || closed) return
      }
      const keys = keysOf(this.id)
      let entries: StreamEntry[]
      let full: boolean
      if (!this.seeked) {
        ;({ entries, full } = seekResult(await exec(seekCommands(keys, this.cursor))))
        this.seeked = true
      } else {
        const start = this.lastEntryId ? `(${this.lastEntryId}` : '-'
        const [reply] = await exec([cmd.xrange(keys.events, start, '+', PAGE_ENTRIES)])
        entries = streamEntries(check(reply))
        full = entries.length >= PAGE_ENTRIES
      }
      if (this.ended) return
      const fresh = this.consume(entries)
      if (fresh.length > 0) {
        this.buffered = fresh
        this.delay = MIN_POLL_MS
        this.pause = full ? 0 : Math.max(MIN_POLL_MS, flushMs)
        this.lastProgress = Date.now()
        return
      }
      if (full) return
      if (this.finalRead) {
        this.ended = true
        return
      }
      const now = Date.now()
      if (now - this.lastProgress >= livenessCheckMs && now - this.lastLivenessCheck >= livenessCheckMs) {
        this.lastLivenessCheck = now
        if (await this.ownerGone()) return
      }
      await this.sleep(this.delay)
      this.delay = Math.min(pollMs, Math.ceil(this.delay * POLL_BACKOFF))
    }

    /** Waits `ms`, or less if the subscription is closed meanwhile. */
    private async sleep(ms: number): Promise<void> {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms)
        this.wakeUp = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.wakeUp = null
    }

    /** Checks the generation is still known and its owner alive; takes over a dead one. True to poll at once. */
    private async ownerGone(): Promise<boolean> {
      const keys = keysOf(this.id)
      const commands = [cmd.get(keys.state)]
      if (this.owner) commands.push(cmd.exists(ownerKey(this.owner)))
      const [stateReply, aliveReply] = await exec(commands)
      const state = parseState(check(stateReply))
      if (!state) {
        this.ended = true // expired while followed
        return true
      }
      if (state.state !== 'running') {
        // Finished: its terminal entry is there, read it now (and if it is not, do not wait for one).
        this.finalRead = true
        return true
      }
      if (state.owner !== this.owner || !aliveReply) {
        this.owner = state.owner
        return false
      }
      if (Number(check(aliveReply)) > 0) return false
      if (!(await interrupt(this.id))) return false
      this.delay = MIN_POLL_MS
      return true
    }
  }

  /** Reads from a cursor: the entry holding event `cursor + 1` (it may start before it) and the entries after it. */
  const seekCommands = (keys: Keys, cursor: number) =>
    cursor <= 0
      ? [cmd.xrange(keys.events, '-', '+', PAGE_ENTRIES)]
      : [cmd.xrevrange(keys.events, `${cursor + 1}-0`, '-', 1), cmd.xrange(keys.events, `(${cursor + 1}-0`, '+', PAGE_ENTRIES)]

  const seekResult = (replies: Reply[]) => {
    const lists = replies.map((reply) => streamEntries(check(reply)))
    return { entries: lists.flat(), full: (lists.at(-1)?.length ?? 0) >= PAGE_ENTRIES }
  }

  // ---------------------------------------------------------------------------------------------------------
  // The hub
  // ---------------------------------------------------------------------------------------------------------

  return {
    ownerId,

    async start(task: GenerationTask) {
      const { generationId: id } = task
      if (closed) throw new Error('the Redis hub is closed')
      if (owned.has(id) || starting.has(id)) throw new Error(`generation ${id} already started`)
      starting.add(id)
      const keys = keysOf(id)
      const value = `running:${ownerId}`
      try {
        // The heartbeat first, so no reader ever sees this generation running under an owner with none.
        const [beat, claimed] = await exec([cmd.set(myOwnerKey, '1', { px: staleMs }), cmd.set(keys.state, value, { px: runTtlMs, nx: true })])
        check(beat)
        if (check(claimed) !== 'OK') {
          // Refused: started before, or our own earlier attempt whose reply was lost (a client retry).
          const [current] = await exec([cmd.get(keys.state)])
          if (check(current) !== value) throw new Error(`generation ${id} already started`)
        }
      } finally {
        starting.delete(id)
      }
      const now = Date.now()
      lastHeartbeat = now
      let settle!: () => void
      const entry: Owned = {
        id,
        keys,
        events: [],
        pending: [],
        nextSeq: 1,
        closed: false,
        halted: false,
        finished: false,
        handedOff: false,
        controller: new AbortController(),
        wakers: new WakeGroup(),
        flushing: false,
        flushQueued: false,
        timer: undefined,
        lastFlushAt: 0,
        streamTtlSet: false,
        ttlRefreshedAt: now,
        settle: () => settle(),
        settled: new Promise<void>((resolve) => (settle = resolve)),
        done: Promise.resolve(),
      }
      owned.set(id, entry)
      scheduleTick()
      const failed = (message: string): GenerationEvent => ({
        type: 'generation.failed',
        data: { generationId: id, code: 'internal', message, retryable: false },
      })
      entry.done = Promise.resolve()
        .then(() => run(task, { signal: entry.controller.signal, emit: (event) => emit(entry, event) }))
        .catch((error: unknown) => emit(entry, failed(error instanceof Error ? error.message : 'producer failed')))
        .finally(() => {
          if (!entry.closed) emit(entry, failed('The generation ended without a result'))
        })
        .then(() => entry.settled)
    },

    async subscribe(generationId: string, after: number) {
      if (closed) return null
      const cursor = Math.max(0, Math.floor(after))
      const local = owned.get(generationId)
      if (local && !local.handedOff) return new Subscription(generationId, cursor, local, null)
      const keys = keysOf(generationId)
      const [stateReply, ...replies] = await exec([cmd.get(keys.state), ...seekCommands(keys, cursor)])
      const state = parseState(check(stateReply))
      if (!state) return null
      const { entries } = seekResult(replies)
      return new Subscription(generationId, cursor, null, { entries, owner: state.state === 'running' ? state.owner : null })
    },

    async cancel(generationId: string) {
      const local = owned.get(generationId)
      if (local) {
        if (local.closed || local.halted) return false
        local.controller.abort()
        return true
      }
      const current = await status(generationId)
      if (current?.state !== 'running') return false
      const [set] = await exec([cmd.set(keysOf(generationId).cancel, '1', { px: runTtlMs })])
      check(set)
      return true
    },

    status: (generationId: string) => status(generationId),

    async ping() {
      await status('gen_readiness_probe')
    },

    async isOrphaned(generationId: string, startedAt: Date) {
      // Asked when Redis does not know the generation (status null). start() registers it moments after its
      // database row is written, so one still unknown well after that never reached Redis, or expired there
      // after its owner died (running keys outlive a dead owner by retention + 3 × staleMs).
      if (owned.has(generationId) || starting.has(generationId)) return false
      return Date.now() - startedAt.getTime() > Math.max(staleMs, ORPHAN_GRACE_MS)
    },

    running(generationId: string) {
      const entry = owned.get(generationId)
      return entry && !entry.halted ? entry.done : undefined
    },

    stats: () => redis.stats(),

    async close() {
      closed = true
      if (tickTimer) clearTimeout(tickTimer)
      tickTimer = undefined
      for (const entry of [...owned.values()]) {
        entry.controller.abort()
        entry.finished = true
        release(entry)
      }
    },
  }
}
