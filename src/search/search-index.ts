import type { Database } from '../db/database'
import { hasQueuedMessages, indexQueuedMessages } from '../db/repositories/search'
import type { Logger } from '../lib/logger'

/** Turns per process between two batches of indexing. */
const TURNS_PER_BATCH = 32

/**
 * The full-text index's upkeep. A stored message is only queued (a trigger, in the turn's own write); this indexes
 * the queue in one batch every TURNS_PER_BATCH turns, in the background, and before every query, so a search
 * never misses what was written before it. One FTS5 write per batch instead of one per message is what keeps
 * indexing off the turn's cost.
 */
export interface SearchIndex {
  /** A turn stored its messages (and queued them). */
  turnStored(): void
  /** Indexes what is queued, before a query reads the index. */
  catchUp(): Promise<void>
}

export function createSearchIndex(db: Database, logger: Logger): SearchIndex {
  let turns = 0
  let running: Promise<void> | null = null
  const catchUp = async () => {
    if (await hasQueuedMessages(db)) await indexQueuedMessages(db)
  }
  return {
    turnStored() {
      if (++turns < TURNS_PER_BATCH || running) return
      turns = 0
      running = catchUp()
        .catch((error: unknown) => logger.warn('search indexing failed; the next batch retries', { error: String(error) }))
        .finally(() => (running = null))
    },
    catchUp,
  }
}
