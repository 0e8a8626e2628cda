import type { GenerationState } from './events'

/**
 * Which process owns a running generation and whether it is alive, for a memory hub that shares its database with
 * other processes (a rolling deploy, two `npm start`s): each hub has an owner id, stamped on the generations it
 * starts (the turn's insert) and kept alive by heartbeats.
 */
export interface StreamLeases {
  readonly ownerId: string
  /** Records that `ownerId` is alive at `at` (epoch ms). */
  heartbeat(at: number): Promise<void>
  /** The generation's recorded owner and that owner's last heartbeat (null: no owner recorded, or no row). */
  ownership(generationId: string): Promise<{ ownerId: string | null; heartbeatAt: number | null } | null>
  /** Forgets owners silent since before `before`. */
  forget(before: number): Promise<void>
}

export interface ArchivedLog {
  generationId: string
  state: Exclude<GenerationState, 'running'>
  lastEventId: number
  /** The packed events. */
  events: string
  /** Epoch ms after which the log is gone. */
  expiresAt: number
}

/** Where finished generations' packed event logs go, so the heap holds only a bounded number of them. */
export interface EventArchive {
  put(logs: ArchivedLog[]): Promise<void>
  /** The log, unless it is unknown or expired at `now`. */
  get(generationId: string, now: number): Promise<ArchivedLog | null>
  /** Deletes the logs expired at `now`. */
  sweep(now: number): Promise<void>
}
