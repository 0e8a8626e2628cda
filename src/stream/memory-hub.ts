import { isTerminal, sequenced, stateOf, type GenerationEvent, type GenerationState, type SequencedEvent } from './events'
import type { GenerationHub, GenerationTask, HubStatus, TaskRunner } from './hub'
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
}

/** How often a running producer looks for a cancel request (see `cancel`). */
const CANCEL_POLL_MS = 50

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

function unpack(entry: Entry): SequencedEvent[] {
  const { generationId } = entry
  return (JSON.parse(entry.archive!) as SequencedEvent[]).map(
    (event) => ({ id: event.id, type: event.type, data: { generationId, ...(event.data as object) } }) as SequencedEvent,
  )
}

/** One process: events kept in memory, subscribers woken once per microtask batch, finished ones expire. */
export function createMemoryHub({ run, retentionMs = 600_000, archiveAfterMs = 10_000, now = Date.now, followPollMs }: MemoryHubOptions): GenerationHub {
  const entries = new Map<string, Entry>()
  const createdAt = now()
  // Finished entries in the order they finished, i.e. by finishedAt: packing and expiry look at the front only, so
  // their cost is the number of entries they touch, not the number retained (tens of thousands at a few hundred
  // turns/s). Entries before finishedHead are gone, those before archivedHead packed.
  let finished: (Entry | undefined)[] = []
  let finishedHead = 0
  let archivedHead = 0

  const expire = () => {
    const time = now()
    while (finishedHead < finished.length) {
      const entry = finished[finishedHead]!
      if (entry.finishedAt! >= time - retentionMs) break
      if (entries.get(entry.generationId) === entry) entries.delete(entry.generationId)
      finished[finishedHead++] = undefined // let its events be collected now, not at the next compaction
    }
    archivedHead = Math.max(archivedHead, finishedHead)
    while (archivedHead < finished.length && finished[archivedHead]!.finishedAt! < time - archiveAfterMs) pack(finished[archivedHead++]!)
    if (finishedHead > 1024 && finishedHead * 2 > finished.length) {
      finished = finished.slice(finishedHead)
      archivedHead -= finishedHead
      finishedHead = 0
    }
  }

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
        if (entry.lastEventId > cursor) yield unpack(entry).slice(cursor)
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

  return {
    async start(task: GenerationTask) {
      const { generationId } = task
      expire()
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
      }
      entries.set(generationId, entry)
      // The abort fires from a timer of the producer's own: workerd forbids touching a request's I/O (the model
      // fetch) from another request, such as the one that asked to cancel.
      const cancelWatch = setInterval(() => {
        if (entry.cancelRequested) entry.controller.abort()
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
      return entry ? follow(entry, Math.max(0, after)) : null
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
      return entry ? { state: entry.state, lastEventId: entry.lastEventId } : null
    },

    async ping() {},

    async isOrphaned(generationId: string, startedAt: Date) {
      // This hub sees every generation started in its process since it was created; older ones lost theirs.
      return !entries.has(generationId) && startedAt.getTime() < createdAt
    },

    running(generationId: string) {
      const entry = entries.get(generationId)
      return entry?.state === 'running' ? entry.done : undefined
    },
  }
}
