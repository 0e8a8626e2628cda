/**
 * The generation hub that lives inside one Durable Object (one conversation): a GenerationHub whose storage is the
 * object's SQLite database, so events survive the request that started the generation and any number of
 * subscribers replay them from any cursor.
 *
 * - Persist, then broadcast: an event is numbered, written, and only then shown to subscribers; a subscriber never
 *   sees an event that a replay could not reproduce.
 * - Batched rows: events are packed several to a row (`hub_events`, one row per flush). The first event and any
 *   event after a quiet spell are written at once; the rest within FLUSH_MS, or sooner when FLUSH_EVENTS events or
 *   FLUSH_BYTES bytes are pending; the terminal event flushes at once. Rows stay far below the 2 MB row limit, and a
 *   flush is one row written (the generation row is written only at start and at the end).
 * - One active generation per object: a second start while one runs is refused.
 * - Retention: finished generations (rows and events) are deleted `retentionMs` after their terminal event, lazily
 *   on access and by the object's alarm (see `nextAlarm`); deleting is idempotent.
 *
 * Only Workers globals in type position here (no `cloudflare:workers` import): the object is in durable-object.ts.
 */
import { isTerminal, sequenced, stateOf, type GenerationEvent, type GenerationState, type SequencedEvent } from './events'
import type { GenerationHub, GenerationTask, HubStatus, TaskRunner } from './hub'

export const FLUSH_MS = 100
export const FLUSH_EVENTS = 128
export const FLUSH_BYTES = 256 * 1024
/** Alarm period while a generation runs (platform notes: keep an alarm heartbeat while work is in flight). */
export const HEARTBEAT_MS = 30_000
/** Rows read per replay step, so a long log is replayed in bounded pieces. */
const REPLAY_ROWS = 64

export type StoreStorage = Pick<DurableObjectStorage, 'sql' | 'transactionSync'>

/** Refused start: the generation id is known here, or another generation of this conversation is running. */
export class GenerationConflictError extends Error {
  override name = 'GenerationConflictError'
}

interface Live {
  generationId: string
  controller: AbortController
  state: GenerationState
  /** Last event id assigned (persisted or pending). */
  seq: number
  pending: SequencedEvent[]
  pendingBytes: number
  lastFlush: number
  timer: ReturnType<typeof setTimeout> | undefined
  done: Promise<void>
  /** Storage refused a write: this instance is going away (a deploy, a reset). Its successor finalizes the turn. */
  storageLost: boolean
}

export interface OrphanRow {
  id: string
  task: string
  lastEventId: number
}

export interface GenerationStoreOptions {
  storage: StoreStorage
  run: TaskRunner
  /** Retention for `start(task)` without options (the GenerationHub signature). */
  retentionMs: number
  now?: () => number
  /** Called when the next alarm time may have changed (a start, a terminal event). */
  onScheduleChange?: () => void
  /** Called once per generation when storage refuses its events (the object is being shut down). */
  onStorageLost?: (generationId: string, error: unknown) => void
}

export interface GenerationStore extends GenerationHub {
  start(task: GenerationTask, options?: { retentionMs?: number }): Promise<void>
  /** Generations stored as running that no producer in this instance owns: after an eviction, all of them. */
  orphans(): OrphanRow[]
  /** Every stored event of a generation, in order. */
  events(generationId: string): SequencedEvent[]
  /** Appends the ending of an orphan (no producer): events whose last is terminal, as one row; marks it finished. */
  finishOrphan(generationId: string, ending: GenerationEvent[]): void
  /** Deletes finished generations whose retention ended; returns how many. */
  purgeExpired(): number
  /** When the object's alarm should next fire: a heartbeat while running, else the next expiry; null for none. */
  nextAlarm(): number | null
  /** Whether a generation is running (owned or orphaned): the object must keep its heartbeat. */
  hasRunning(): boolean
}

type GenerationRecord = { id: string; task: string; state: string; last_seq: number; retention_ms: number; started_at: number; finished_at: number | null }

export function createGenerationStore({
  storage,
  run,
  retentionMs: defaultRetentionMs,
  now = Date.now,
  onScheduleChange,
  onStorageLost,
}: GenerationStoreOptions): GenerationStore {
  const { sql } = storage
  sql.exec(`CREATE TABLE IF NOT EXISTS hub_generations (
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    state TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    retention_ms INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER
  )`)
  sql.exec(`CREATE TABLE IF NOT EXISTS hub_events (
    generation_id TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    events TEXT NOT NULL,
    PRIMARY KEY (generation_id, last_seq)
  ) WITHOUT ROWID`)

  const lives = new Map<string, Live>()
  const waiters = new Map<string, Set<() => void>>()

  const record = (id: string): GenerationRecord | undefined => sql.exec<GenerationRecord>('SELECT * FROM hub_generations WHERE id = ?', id).toArray()[0]

  const persistedSeq = (id: string): number =>
    Number(sql.exec<{ seq: number | null }>('SELECT max(last_seq) AS seq FROM hub_events WHERE generation_id = ?', id).one().seq ?? 0)

  const wake = (id: string) => {
    const set = waiters.get(id)
    if (!set) return
    waiters.delete(id)
    for (const resolve of set) resolve()
  }

  /** Writes the pending events as one row (with the terminal state when the last one ends the generation). */
  const flush = (live: Live) => {
    if (live.timer !== undefined) {
      clearTimeout(live.timer)
      live.timer = undefined
    }
    const batch = live.pending
    if (batch.length === 0) return
    live.pending = []
    live.pendingBytes = 0
    live.lastFlush = now()
    const last = batch[batch.length - 1]!
    if (live.storageLost) return
    try {
      storage.transactionSync(() => {
        sql.exec('INSERT INTO hub_events (generation_id, last_seq, first_seq, events) VALUES (?, ?, ?, ?)', live.generationId, last.id, batch[0]!.id, JSON.stringify(batch))
        if (isTerminal(last)) {
          sql.exec('UPDATE hub_generations SET state = ?, last_seq = ?, finished_at = ? WHERE id = ?', stateOf(last), last.id, now(), live.generationId)
        }
      })
    } catch (error) {
      // Nothing more can be stored or announced from here. The producer is left to finish its own database write
      // (a deploy gives it 30 s); the next instance finds the generation running without a producer and ends its
      // stream (see durable-object.ts). Throwing would only fail the producer for an unrelated reason.
      live.storageLost = true
      onStorageLost?.(live.generationId, error)
      return
    }
    wake(live.generationId)
    if (isTerminal(last)) {
      lives.delete(live.generationId)
      onScheduleChange?.()
    }
  }

  const append = (live: Live, event: GenerationEvent) => {
    if (live.state !== 'running') return
    const numbered = sequenced(event, ++live.seq)
    live.pending.push(numbered)
    // Approximate size: the JSON of the data dominates; exact bytes are not needed to stay far below 2 MB.
    live.pendingBytes += 64 + JSON.stringify(event.data).length
    if (isTerminal(event)) {
      live.state = stateOf(event)
      flush(live)
    } else if (live.seq === 1 || live.pending.length >= FLUSH_EVENTS || live.pendingBytes >= FLUSH_BYTES || now() - live.lastFlush >= FLUSH_MS) {
      flush(live)
    } else if (live.timer === undefined) {
      live.timer = setTimeout(() => flush(live), Math.max(0, FLUSH_MS - (now() - live.lastFlush)))
    }
  }

  /** Events with id > after, from storage, at most REPLAY_ROWS rows. */
  const readAfter = (id: string, after: number): SequencedEvent[] => {
    const rows = sql.exec<{ events: string }>(
      'SELECT events FROM hub_events WHERE generation_id = ? AND last_seq > ? ORDER BY last_seq LIMIT ?',
      id,
      after,
      REPLAY_ROWS,
    )
    const out: SequencedEvent[] = []
    for (const row of rows) for (const event of JSON.parse(row.events) as SequencedEvent[]) if (event.id > after) out.push(event)
    return out
  }

  async function* follow(id: string, after: number): AsyncGenerator<SequencedEvent[]> {
    let cursor = after
    for (;;) {
      // Read, check the state and register the waiter in one synchronous step: no flush can slip in between.
      const batch = readAfter(id, cursor)
      if (batch.length > 0) {
        cursor = batch[batch.length - 1]!.id
        yield batch
        continue
      }
      const state = record(id)?.state
      if (state !== 'running') return
      await new Promise<void>((resolve) => {
        let set = waiters.get(id)
        if (!set) waiters.set(id, (set = new Set()))
        set.add(resolve)
      })
    }
  }

  const purgeExpired = (): number => {
    const expired = sql
      .exec<{ id: string }>('SELECT id FROM hub_generations WHERE finished_at IS NOT NULL AND finished_at + retention_ms <= ?', now())
      .toArray()
    if (expired.length === 0) return 0
    storage.transactionSync(() => {
      for (const { id } of expired) {
        sql.exec('DELETE FROM hub_events WHERE generation_id = ?', id)
        sql.exec('DELETE FROM hub_generations WHERE id = ?', id)
      }
    })
    for (const { id } of expired) wake(id)
    return expired.length
  }

  const failed = (generationId: string, message: string): GenerationEvent => ({
    type: 'generation.failed',
    data: { generationId, code: 'internal', message, retryable: false },
  })

  return {
    async start(task: GenerationTask, options: { retentionMs?: number } = {}) {
      const { generationId } = task
      purgeExpired()
      if (record(generationId)) throw new GenerationConflictError(`generation ${generationId} already started`)
      const active = sql.exec<{ id: string }>("SELECT id FROM hub_generations WHERE state = 'running' LIMIT 1").toArray()[0]
      if (active) throw new GenerationConflictError(`generation ${active.id} is already running in this conversation`)
      sql.exec(
        "INSERT INTO hub_generations (id, task, state, last_seq, retention_ms, started_at) VALUES (?, ?, 'running', 0, ?, ?)",
        generationId,
        task.task,
        options.retentionMs ?? defaultRetentionMs,
        now(),
      )
      const live: Live = {
        generationId,
        controller: new AbortController(),
        state: 'running',
        seq: 0,
        pending: [],
        pendingBytes: 0,
        lastFlush: 0,
        timer: undefined,
        done: Promise.resolve(),
        storageLost: false,
      }
      lives.set(generationId, live)
      onScheduleChange?.()
      live.done = Promise.resolve()
        .then(() => run(task, { signal: live.controller.signal, emit: (event) => append(live, event) }))
        .catch((error: unknown) => append(live, failed(generationId, error instanceof Error ? error.message : 'producer failed')))
        .finally(() => {
          if (live.state === 'running') append(live, failed(generationId, 'The generation ended without a result'))
        })
    },

    async subscribe(generationId: string, after: number) {
      purgeExpired()
      return record(generationId) ? follow(generationId, Math.max(0, after)) : null
    },

    async cancel(generationId: string) {
      const live = lives.get(generationId)
      if (!live || live.state !== 'running') return false
      live.controller.abort()
      return true
    },

    async ping() {},

    async status(generationId: string): Promise<HubStatus | null> {
      purgeExpired()
      const row = record(generationId)
      if (!row) return null
      const state = row.state as GenerationState
      return { state, lastEventId: state === 'running' ? persistedSeq(generationId) : row.last_seq }
    },

    async isOrphaned(generationId: string) {
      // Inside the object: running here without a producer in this instance (recovered on wake and by alarm).
      return record(generationId)?.state === 'running' && !lives.has(generationId)
    },

    running(generationId: string) {
      return lives.get(generationId)?.done
    },

    orphans() {
      return sql
        .exec<{ id: string; task: string }>("SELECT id, task FROM hub_generations WHERE state = 'running'")
        .toArray()
        .filter((row) => !lives.has(row.id))
        .map((row) => ({ id: row.id, task: row.task, lastEventId: persistedSeq(row.id) }))
    },

    events(generationId: string) {
      const all: SequencedEvent[] = []
      for (let batch = readAfter(generationId, 0); batch.length > 0; batch = readAfter(generationId, all[all.length - 1]!.id)) all.push(...batch)
      return all
    },

    finishOrphan(generationId: string, ending: GenerationEvent[]) {
      const terminal = ending[ending.length - 1]
      if (!terminal || !isTerminal(terminal) || lives.has(generationId) || record(generationId)?.state !== 'running') return
      const first = persistedSeq(generationId) + 1
      const batch = ending.map((event, index) => sequenced(event, first + index))
      const last = first + batch.length - 1
      storage.transactionSync(() => {
        sql.exec('INSERT INTO hub_events (generation_id, last_seq, first_seq, events) VALUES (?, ?, ?, ?)', generationId, last, first, JSON.stringify(batch))
        sql.exec('UPDATE hub_generations SET state = ?, last_seq = ?, finished_at = ? WHERE id = ?', stateOf(terminal), last, now(), generationId)
      })
      wake(generationId)
      onScheduleChange?.()
    },

    purgeExpired,

    nextAlarm() {
      const running = sql.exec<{ n: number }>("SELECT count(*) AS n FROM hub_generations WHERE state = 'running'").one().n > 0
      const expiry = sql.exec<{ at: number | null }>('SELECT min(finished_at + retention_ms) AS at FROM hub_generations WHERE finished_at IS NOT NULL').one().at
      const heartbeat = running ? now() + HEARTBEAT_MS : null
      if (heartbeat === null) return expiry
      return expiry === null ? heartbeat : Math.min(heartbeat, expiry)
    },

    hasRunning() {
      return sql.exec<{ n: number }>("SELECT count(*) AS n FROM hub_generations WHERE state = 'running'").one().n > 0
    },
  }
}
