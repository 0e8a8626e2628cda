import { isTerminal, sequenced, stateOf, type GenerationEvent, type GenerationState, type SequencedEvent } from './events'
import type { GenerationHub, GenerationTask, HubStatus, TaskRunner } from './hub'
import { WakeGroup } from './wake-group'

interface Entry {
  generationId: string
  events: SequencedEvent[]
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
   * Followers check for new events on a timer of their own instead of being woken by the producer (workerd
   * refuses to let one request's producer resolve a promise another request waits on).
   */
  followPollMs?: number
}

/** One process: events kept in memory, subscribers woken once per microtask batch, finished ones expire. */
export function createMemoryHub({ run, retentionMs = 600_000, now = Date.now, followPollMs }: MemoryHubOptions): GenerationHub {
  const entries = new Map<string, Entry>()
  const createdAt = now()
  // Finished entries in the order they finished, i.e. by finishedAt: expiry looks at the front only, so its cost
  // is the number of entries it removes, not the number retained (tens of thousands at a few hundred turns/s).
  let finished: (Entry | undefined)[] = []
  let finishedHead = 0

  const expire = () => {
    const cutoff = now() - retentionMs
    while (finishedHead < finished.length) {
      const entry = finished[finishedHead]!
      if (entry.finishedAt! >= cutoff) break
      if (entries.get(entry.generationId) === entry) entries.delete(entry.generationId)
      finished[finishedHead++] = undefined // let its events be collected now, not at the next compaction
    }
    if (finishedHead > 1024 && finishedHead * 2 > finished.length) {
      finished = finished.slice(finishedHead)
      finishedHead = 0
    }
  }

  const wake = (entry: Entry) => entry.wakers.wake()

  const append = (entry: Entry, event: GenerationEvent) => {
    if (entry.state !== 'running') return
    entry.events.push(sequenced(event, entry.events.length + 1))
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
      return entry ? { state: entry.state, lastEventId: entry.events.length } : null
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
