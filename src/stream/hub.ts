import type { GenerationEvent, GenerationState, SequencedEvent } from './events'

/**
 * The abort reason when a hub stops a producer that nobody cancelled (it lost its generation to another process):
 * the producer finalizes the turn as interrupted, not cancelled.
 */
export class GenerationInterrupted extends Error {
  override name = 'GenerationInterrupted'
}

export interface ProducerContext {
  /** Fires when the generation is cancelled, wherever the cancel came from. */
  signal: AbortSignal
  /** Appends an event; the hub numbers it and fans it out. The producer's last event must be terminal. */
  emit(event: GenerationEvent): void
}

export type Producer = (context: ProducerContext) => Promise<void>

/**
 * What to run, as data: a hub may run it in another process or object (a Durable Object), which builds the
 * producer from its own services. `task` names a handler (`chat`); `input` is that handler's structured-cloneable
 * input.
 */
export interface GenerationTask {
  generationId: string
  conversationId: string
  task: string
  input: unknown
}

/** Runs a task to its terminal event: the task registry, bound to the services of wherever it runs. */
export type TaskRunner = (task: GenerationTask, context: ProducerContext) => Promise<void>

export interface HubStatus {
  state: GenerationState
  lastEventId: number
}

/**
 * Where in-flight generations live: memory (one process), Redis (several processes) or a Durable Object
 * (Workers). The producer runs detached from the request that started it; subscribers replay from any cursor
 * and then follow live.
 */
export interface GenerationHub {
  /**
   * Recorded on the generations this hub starts (the turn's insert), when the hub judges liveness by owner
   * heartbeats in the database (the memory hub sharing a database); unset otherwise.
   */
  readonly ownerId?: string
  /** Starts the task detached; resolves once the generation is registered (not when it ends). */
  start(task: GenerationTask): Promise<void>
  /**
   * Events with id > after, in batches (one batch per wake-up, so encoders write once per batch). Ends after the
   * terminal event; null when the hub does not know the generation (never started here, or expired).
   */
  subscribe(generationId: string, after: number): Promise<AsyncIterable<SequencedEvent[]> | null>
  /** Asks the producer to stop. False when the generation is unknown or already finished. */
  cancel(generationId: string): Promise<boolean>
  status(generationId: string): Promise<HubStatus | null>
  /**
   * Whether a generation the database still calls running has no producer left anywhere (its process crashed or
   * restarted), so it may be finalized as interrupted. False when it may be running somewhere this hub can't see.
   */
  isOrphaned(generationId: string, startedAt: Date): Promise<boolean>
  /** Touches the hub's backing store (Redis, a Durable Object); rejects when it is unreachable. For /ready. */
  ping(): Promise<void>
  /** Promises of running producers, for runtimes that must be told to keep working (waitUntil). */
  running(generationId: string): Promise<void> | undefined
}
