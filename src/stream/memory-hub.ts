import { isTerminal, sequenced, stateOf, type GenerationEvent, type GenerationState, type SequencedEvent } from './events'
import type { GenerationHub, GenerationTask, HubStatus, TaskRunner } from './hub'
import type { ArchivedLog, EventArchive, StreamLeases } from './memory-ports'
import { WakeGroup } from './wake-group'

interface Entry {
  generationId: string
  /** Live events; emptied when they are packed into `archive`. */
  events: SequencedEvent[]
  archive: string | null
  lastEventId: number
  state: GenerationState
  finishedAt: number | null
  controller: AbortController
  cancelRequested: boolean
  wakers: WakeGroup
  done: Promise<void>
  /** Its packed events are in the archive store, so memory may let go of them. */
  spilled: boolean
}

/** How often a running producer looks for a cancel request (see `cancel`). */
const CANCEL_POLL_MS = 50
/** How often expired archived logs and long-silent owners are deleted. */
const SWEEP_MS = 60_000
/** Archived logs written per statement. */
const SPILL_BATCH = 200

export interface MemoryHubOptions {
  run: TaskRunner
  retentionMs?: number
  now?: () => number
  /**
   * Finished generations' events are packed into one string this long after the end, once their live followers
   * are done: a retained 50-token generation then costs ~4.5 KB in one string instead of ~7.5 KB in ~160 objects.
   */
  archiveAfterMs?: number
  /**
   * Followers check for new events on a timer of their own instead of being woken by the producer (workerd
   * refuses to let one request's producer resolve a promise another request waits on).
   */
  followPollMs?: number
  /**
   * Ownership in a database shared with other processes: generations this hub starts carry its owner id, its
   * running producers keep the owner's heartbeat fresh, and `isOrphaned` only gives up generations whose owner is
   * silent (or is this hub, without the producer). Without it, the one-process rule: anything started before this
   * hub existed and unknown to it is orphaned.
   */
  leases?: StreamLeases
  /** An owner silent this long is dead. */
  staleMs?: number
  /**
   * Where packed logs go once packed: the heap then keeps at most `memoryBytes` of them (the oldest leave first),
   * and replays of the others read the store, for the whole retention window.
   */
  archive?: EventArchive
  /** Packed logs kept in memory, in characters (≈ bytes: events are mostly one-byte strings). */
  memoryBytes?: number
  onWarning?: (message: string, details: Record<string, unknown>) => void
}

/**
 * Every event's data starts with the generation's id, so the archive leaves it out (the data objects are the only
 * holders it is dropped from) and unpacking puts it back first. JSON.stringify returns one flat string.
 */
function pack(entry: Entry) {
  const datas = new Set<unknown>(entry.events.map((event) => event.data))
  entry.archive = JSON.stringify(entry.events, function (this: unknown, key: string, value: unknown) {
    return key === 'generationId' && datas.has(this) ? undefined : value
  })
  entry.events = []
}

function unpack(generationId: string, archive: string): SequencedEvent[] {
  return (JSON.parse(archive) as SequencedEvent[]).map(
    (event) => ({ id: event.id, type: event.type, data: { generationId, ...(event.data as object) } }) as SequencedEvent,
  )
}

/** One process: events kept in memory, subscribers woken once per microtask batch, finished ones expire. */
export function createMemoryHub({
  run,
  retentionMs = 600_000,
  archiveAfterMs = 10_000,
  now = Date.now,
  followPollMs,
  leases,
  staleMs = 30_000,
  archive: store,
  memoryBytes = 16 * 1024 * 1024,
  onWarning = () => {},
}: MemoryHubOptions): GenerationHub {
  const entries = new Map<string, Entry>()
  const createdAt = now()
  // Finished entries in the order they finished, i.e. by finishedAt: packing and expiry look at the front only, so
  // their cost is the number of entries they touch, not the number retained (tens of thousands at a few hundred
  // turns/s). Entries before finishedHead are gone from memory, those before archivedHead packed.
  let finished: (Entry | undefined)[] = []
  let finishedHead = 0
  let archivedHead = 0
  /** Characters of the packed logs between finishedHead and archivedHead. */
  let residentBytes = 0
  const spillQueue: Entry[] = []
  let spilling = false
  let lastSweep = -Infinity
  const heartbeatMs = Math.min(5_000, staleMs / 3)
  let lastBeat = -Infinity
  let beating = false

  const dropOldest = () => {
    const entry = finished[finishedHead]!
    if (entries.get(entry.generationId) === entry) entries.delete(entry.generationId)
    if (entry.archive !== null) residentBytes -= entry.archive.length
    finished[finishedHead++] = undefined // let its events be collected now, not at the next compaction
  }

  /** Lets go of the oldest packed logs the store holds, down to the budget. */
  const evict = () => {
    while (residentBytes > memoryBytes && finishedHead < archivedHead && finished[finishedHead]!.spilled) dropOldest()
  }

  const spill = () => {
    if (!store || spilling || spillQueue.length === 0) return
    spilling = true
    const batch = spillQueue.splice(0, SPILL_BATCH)
    const logs: ArchivedLog[] = batch.map((entry) => ({
      generationId: entry.generationId,
      state: entry.state as ArchivedLog['state'],
      lastEventId: entry.lastEventId,
      events: entry.archive!,
      expiresAt: entry.finishedAt! + retentionMs,
    }))
    store
      .put(logs)
      .then(
        () => {
          for (const entry of batch) entry.spilled = true
          evict()
        },
        // They stay in memory (until the retention window ends), as without a store.
        (error: unknown) => onWarning('could not archive finished generations; keeping them in memory', { count: batch.length, error: String(error) }),
      )
      .finally(() => {
        spilling = false
        spill()
      })
  }

  const sweep = (time: number) => {
    if (time - lastSweep < SWEEP_MS || !(store || leases)) return
    lastSweep = time
    const silentSince = time - Math.max(3_600_000, staleMs * 10)
    Promise.all([store?.sweep(time), leases?.forget(silentSince)]).catch((error: unknown) =>
      onWarning('could not delete expired stream state', { error: String(error) }),
    )
  }

  /** Keeps this hub's owner alive while it has producers (called on start and from each producer's timer). */
  const beat = () => {
    if (!leases || beating) return
    const time = now()
    if (time - lastBeat < heartbeatMs) return
    beating = true
    lastBeat = time
    leases
      .heartbeat(time)
      .catch((error: unknown) => {
        lastBeat = -Infinity
        onWarning('could not record the stream owner heartbeat', { ownerId: leases.ownerId, error: String(error) })
      })
      .finally(() => (beating = false))
  }

  const expire = () => {
    const time = now()
    while (finishedHead < finished.length && finished[finishedHead]!.finishedAt! < time - retentionMs) dropOldest()
    archivedHead = Math.max(archivedHead, finishedHead)
    while (archivedHead < finished.length && finished[archivedHead]!.finishedAt! < time - archiveAfterMs) {
      const entry = finished[archivedHead++]!
      pack(entry)
      residentBytes += entry.archive!.length
      if (store) spillQueue.push(entry)
    }
    evict()
    if (finishedHead > 1024 && finishedHead * 2 > finished.length) {
      finished = finished.slice(finishedHead)
      archivedHead -= finishedHead
      finishedHead = 0
    }
    spill()
    sweep(time)
  }

  /** A finished generation this hub no longer holds (or never ran), from the store. */
  const archived = async (generationId: string) => (store ? store.get(generationId, now()) : null)

  const wake = (entry: Entry) => entry.wakers.wake()

  const append = (entry: Entry, event: GenerationEvent) => {
    if (entry.state !== 'running') return
    entry.events.push(sequenced(event, ++entry.lastEventId))
    if (isTerminal(event)) {
      entry.state = stateOf(event)
      entry.finishedAt = now()
      finished.push(entry)
    }
    wake(entry)
  }

  async function* follow(entry: Entry, after: number): AsyncGenerator<SequencedEvent[]> {
    let cursor = after
    for (;;) {
      if (entry.archive !== null) {
        if (entry.lastEventId > cursor) yield unpack(entry.generationId, entry.archive).slice(cursor)
        return
      }
      if (entry.events.length > cursor) {
        const batch = entry.events.slice(cursor)
        cursor = entry.events.length
        yield batch
        continue
      }
      if (entry.state !== 'running') return
      await new Promise<void>((resolve) => (followPollMs ? setTimeout(resolve, followPollMs) : entry.wakers.add(resolve)))
    }
  }

  async function* replay(log: ArchivedLog, after: number): AsyncGenerator<SequencedEvent[]> {
    if (log.lastEventId > after) yield unpack(log.generationId, log.events).slice(after)
  }

  return {
    ownerId: leases?.ownerId,

    async start(task: GenerationTask) {
      const { generationId } = task
      expire()
      beat()
      if (entries.has(generationId)) throw new Error(`generation ${generationId} already started`)
      const entry: Entry = {
        generationId,
        events: [],
        archive: null,
        lastEventId: 0,
        state: 'running',
        finishedAt: null,
        controller: new AbortController(),
        cancelRequested: false,
        wakers: new WakeGroup(),
        done: Promise.resolve(),
        spilled: false,
      }
      entries.set(generationId, entry)
      // The abort fires from a timer of the producer's own: workerd forbids touching a request's I/O (the model
      // fetch) from another request, such as the one that asked to cancel.
      const cancelWatch = setInterval(() => {
        if (entry.cancelRequested) entry.controller.abort()
        beat()
      }, CANCEL_POLL_MS)
      entry.done = Promise.resolve()
        .then(() => run(task, { signal: entry.controller.signal, emit: (event) => append(entry, event) }))
        .catch((error: unknown) => {
          append(entry, {
            type: 'generation.failed',
            data: { generationId, code: 'internal', message: error instanceof Error ? error.message : 'producer failed', retryable: false },
          })
        })
        .finally(() => {
          clearInterval(cancelWatch)
          if (entry.state === 'running') {
            append(entry, {
              type: 'generation.failed',
              data: { generationId, code: 'internal', message: 'The generation ended without a result', retryable: false },
            })
          }
        })
    },

    async subscribe(generationId: string, after: number) {
      expire()
      const entry = entries.get(generationId)
      if (entry) return follow(entry, Math.max(0, after))
      const log = await archived(generationId)
      return log ? replay(log, Math.max(0, after)) : null
    },

    async cancel(generationId: string) {
      const entry = entries.get(generationId)
      if (!entry || entry.state !== 'running') return false
      entry.cancelRequested = true
      return true
    },

    async status(generationId: string): Promise<HubStatus | null> {
      expire()
      const entry = entries.get(generationId)
      if (entry) return { state: entry.state, lastEventId: entry.lastEventId }
      const log = await archived(generationId)
      return log ? { state: log.state, lastEventId: log.lastEventId } : null
    },

    async ping() {},

    async isOrphaned(generationId: string, startedAt: Date) {
      if (entries.has(generationId)) return false
      // Without owners (or for rows from before them): this hub sees every generation started in its process since
      // it was created; older ones lost theirs.
      const legacy = startedAt.getTime() < createdAt
      if (!leases) return legacy
      const ownership = await leases.ownership(generationId)
      if (!ownership) return false
      if (ownership.ownerId === null) return legacy
      const time = now()
      // Too young to judge: its owner inserts it before its producer's first heartbeat.
      if (startedAt.getTime() >= time - staleMs) return false
      if (ownership.ownerId === leases.ownerId) return true
      return ownership.heartbeatAt === null || ownership.heartbeatAt < time - staleMs
    },

    running(generationId: string) {
      const entry = entries.get(generationId)
      return entry?.state === 'running' ? entry.done : undefined
    },
  }
}
