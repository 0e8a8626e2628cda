/**
 * The few Redis commands the Redis hub uses, sent through @upstash/redis as one `/pipeline` request per call and
 * counted (Upstash bills every command, including each one inside a pipeline). Replies are read tolerantly: the
 * hub wants the client built with `automaticDeserialization: false` (see `createUpstashRedis`), but a client with
 * it on (XRANGE as an object, JSON-looking strings parsed) is read correctly too.
 */
import { Redis } from '@upstash/redis'
import { sequenced, type GenerationEvent, type SequencedEvent } from './events'

type Pipeline = ReturnType<Redis['pipeline']>

export interface Command {
  name: string
  add(pipeline: Pipeline): void
}

export interface Reply {
  result: unknown
  error?: string
}

export const cmd = {
  get: (key: string): Command => ({ name: 'GET', add: (p) => void p.get(key) }),
  /** SET with PX, and NX or XX. */
  set: (key: string, value: string, options: { px: number; nx?: boolean; xx?: boolean }): Command => ({
    name: 'SET',
    add: (p) =>
      void p.set(key, value, options.nx ? { nx: true, px: options.px } : options.xx ? { xx: true, px: options.px } : { px: options.px }),
  }),
  pexpire: (key: string, ms: number): Command => ({ name: 'PEXPIRE', add: (p) => void p.pexpire(key, ms) }),
  exists: (key: string): Command => ({ name: 'EXISTS', add: (p) => void p.exists(key) }),
  mget: (keys: string[]): Command => ({ name: 'MGET', add: (p) => void p.mget(keys) }),
  xadd: (key: string, id: string, fields: Record<string, string>): Command => ({ name: 'XADD', add: (p) => void p.xadd(key, id, fields) }),
  xrange: (key: string, start: string, end: string, count: number): Command => ({
    name: 'XRANGE',
    add: (p) => void p.xrange(key, start, end, count),
  }),
  xrevrange: (key: string, end: string, start: string, count: number): Command => ({
    name: 'XREVRANGE',
    add: (p) => void p.xrevrange(key, end, start, count),
  }),
}

export interface CommandStats {
  /** HTTP requests sent (each a /pipeline). */
  requests: number
  /** Commands sent: what Upstash bills. */
  commands: number
  byCommand: Record<string, number>
}

interface Queued {
  commands: Command[]
  resolve(replies: Reply[]): void
  reject(error: unknown): void
}

/** Commands per coalesced request, at most (Upstash takes up to 10 MB per request; entries are ≤ 64 KB). */
const MAX_COALESCED_COMMANDS = 64

const nextTurn: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0)

/**
 * Sends commands as pipeline requests; per-command errors are returned, transport errors thrown. Calls made in
 * the same event-loop turn (say, the flush timers of many generations firing together) share one request: the
 * commands billed are the same, the HTTP requests (each one costs the server CPU) far fewer. A command's reply
 * never waits for another turn: the shared request leaves at the end of the turn it was made in.
 */
export function commandRunner(redis: Redis) {
  const stats: CommandStats = { requests: 0, commands: 0, byCommand: {} }
  let queue: Queued[] = []

  const send = async (batch: Queued[]) => {
    stats.requests++
    const pipeline = redis.pipeline()
    for (const { commands } of batch) for (const command of commands) command.add(pipeline)
    try {
      const replies = (await pipeline.exec({ keepErrors: true })) as unknown as Reply[]
      let at = 0
      for (const queued of batch) {
        queued.resolve(replies.slice(at, at + queued.commands.length))
        at += queued.commands.length
      }
    } catch (error) {
      for (const queued of batch) queued.reject(error)
    }
  }

  const drain = () => {
    const waiting = queue
    queue = []
    let batch: Queued[] = []
    let size = 0
    for (const queued of waiting) {
      if (batch.length > 0 && size + queued.commands.length > MAX_COALESCED_COMMANDS) {
        void send(batch)
        batch = []
        size = 0
      }
      batch.push(queued)
      size += queued.commands.length
    }
    if (batch.length > 0) void send(batch)
  }

  const run = (commands: Command[]): Promise<Reply[]> => {
    stats.commands += commands.length
    for (const command of commands) stats.byCommand[command.name] = (stats.byCommand[command.name] ?? 0) + 1
    return new Promise((resolve, reject) => {
      if (queue.length === 0) nextTurn(drain)
      queue.push({ commands, resolve, reject })
    })
  }
  return { run, stats: (): CommandStats => ({ ...stats, byCommand: { ...stats.byCommand } }) }
}

/**
 * The @upstash/redis client as the hub needs it: stream fields left as strings (no automatic JSON parsing),
 * no telemetry headers, and retries on network errors only as configured (a retried XADD is rejected by its id,
 * not duplicated; the other writes are idempotent).
 */
export function createUpstashRedis(options: {
  url: string
  token: string
  /** false in tests; in production a few quick retries. */
  retry?: false | { retries: number; backoff?: (retryCount: number) => number }
}): Redis {
  return new Redis({
    url: options.url,
    token: options.token,
    automaticDeserialization: false,
    enableTelemetry: false,
    enableAutoPipelining: false,
    retry: options.retry ?? { retries: 3, backoff: (retryCount) => Math.min(1_000, 50 * 2 ** retryCount) },
  })
}

export interface StreamEntry {
  /** The stream id, `${firstSeq}-0`. */
  id: string
  /** The sequence number of the entry's first event. */
  first: number
  fields: Record<string, unknown>
}

/** Entries of an XRANGE/XREVRANGE reply, raw (`[[id, [field, value, …]], …]`) or deserialized (`{id: {…}}`). */
export function streamEntries(result: unknown): StreamEntry[] {
  const entries: StreamEntry[] = []
  const add = (id: string, fields: Record<string, unknown>) => entries.push({ id, first: Number.parseInt(id, 10), fields })
  if (Array.isArray(result)) {
    for (const item of result) {
      if (!Array.isArray(item) || typeof item[0] !== 'string') continue
      const flat = Array.isArray(item[1]) ? (item[1] as unknown[]) : []
      const fields: Record<string, unknown> = {}
      for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = flat[i + 1]
      add(item[0], fields)
    }
  } else if (result && typeof result === 'object') {
    for (const [id, fields] of Object.entries(result as Record<string, Record<string, unknown>>)) add(id, fields ?? {})
  }
  return entries
}

/** The events of one entry, numbered from its first sequence number. */
export function entryEvents(entry: StreamEntry): SequencedEvent[] {
  const raw = entry.fields.e
  const events = (typeof raw === 'string' ? JSON.parse(raw) : raw) as GenerationEvent[] | undefined
  if (!Array.isArray(events)) throw new Error(`stream entry ${entry.id} holds no events`)
  return events.map((event, i) => sequenced(event, entry.first + i))
}
