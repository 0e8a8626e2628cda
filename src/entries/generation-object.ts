/**
 * The Durable Object that owns a conversation's generations on Workers (`GenerationObject` in the Worker entry,
 * binding GENERATIONS, one object per conversation via idFromName). It runs the task itself, with services built
 * from its own env (config, D1, Bedrock client, metrics), so a generation outlives the request that started it; its
 * events live in the object's SQLite storage (durable-object-store.ts) and are replayed and followed over RPC.
 *
 * Lifecycle:
 * - `start` registers the generation (refused while another one runs here), starts the producer detached and
 *   schedules a heartbeat alarm every HEARTBEAT_MS while anything runs: the alarm keeps the object from being
 *   evicted mid-generation (the installed workerd does not know `durable_object_io_tasks_prevent_eviction`).
 * - On every wake (constructor) and alarm, generations stored as running that no producer in this instance owns —
 *   after an eviction, a deploy, a crash — are ended by their task's `recover` (the chat task finalizes the turn in
 *   D1 and ends the stream as D1 tells it; see src/chat/chat-task.ts), with the events the object had stored.
 *   Persist, then announce.
 * - When storage refuses writes (the instance is being shut down) the producer is left to finish its own D1 write;
 *   its events are dropped, and the next instance reconciles the stream with D1 as above.
 * - The alarm also deletes finished generations after their retention (idempotent, as alarms are at-least-once).
 *
 * Only the Worker entry imports this file: `cloudflare:workers` exists only on workerd. The object's storage is
 * src/stream/durable-object-store.ts; the Worker's side of the RPC is src/stream/durable-object-hub.ts.
 */
import { DurableObject } from 'cloudflare:workers'
import { buildServices, type AppDependencies } from '../app'
import { encodeBatches, type GenerationObjectRpc } from '../stream/durable-object-hub'
import { createGenerationStore, GenerationConflictError, type GenerationStore } from '../stream/durable-object-store'
import type { GenerationTask, HubStatus, ProducerContext, TaskRunner } from '../stream/hub'
import { interruptedEvent } from '../stream/tasks'
import type { Services } from '../types'

/**
 * Task runners for the objects of this isolate that take precedence over the app's task registry (services.tasks),
 * by task name. Empty in production; the workerd tests register a `test` task that runs the conformance scripts.
 */
export const localTasks = new Map<string, TaskRunner>()

export type ObjectDependencies = Omit<AppDependencies, 'hub'>

const DEFAULT_RETENTION_MS = 600_000

/** Before (or without) services: the same JSON lines as the app's logger. */
const log = (level: 'warn' | 'error', message: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }))

export abstract class GenerationObjectBase<Env = unknown> extends DurableObject<Env> implements GenerationObjectRpc {
  private readonly store: GenerationStore
  private app: { services: Services; run: TaskRunner } | undefined
  /** The alarm this instance knows to be pending (null: none). */
  private alarmAt: number | null = null

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.store = createGenerationStore({
      storage: ctx.storage,
      run: (task, context) => this.runTask(task, context),
      retentionMs: DEFAULT_RETENTION_MS,
      onScheduleChange: () => this.schedule(),
      onStorageLost: (generationId, error) => log('error', 'storage refused a generation\'s events: it is finalized when the object restarts', { generationId, error: String(error) }),
    })
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm()
      await this.recover()
      this.schedule()
    })
  }

  /** The app's dependencies (config, database, Bedrock client, logger) from this object's env. */
  protected abstract dependencies(): ObjectDependencies

  /** Services built once per instance, with this object's store as their hub. */
  private services(): { services: Services; run: TaskRunner } {
    if (!this.app) {
      let run: TaskRunner | undefined
      const services = buildServices({
        ...this.dependencies(),
        hub: (runner) => {
          run = runner
          return this.store
        },
      })
      this.app = { services, run: run! }
    }
    return this.app
  }

  private runTask(task: GenerationTask, context: ProducerContext): Promise<void> {
    const local = localTasks.get(task.task)
    return local ? local(task, context) : this.services().run(task, context)
  }

  /** Sets the alarm when nothing earlier is pending (each setAlarm is a billed row write). */
  private schedule(): void {
    const next = this.store.nextAlarm()
    if (next === null || (this.alarmAt !== null && this.alarmAt <= next)) return
    this.alarmAt = next
    void this.ctx.storage.setAlarm(next)
  }

  /** Finalizes generations left running by a previous instance; a failure is retried by the next alarm. */
  private async recover(): Promise<void> {
    for (const orphan of this.store.orphans()) {
      try {
        const ending = localTasks.has(orphan.task)
          ? [interruptedEvent(orphan.id)]
          : await this.services().services.tasks.recover(orphan.task, orphan.id, this.store.events(orphan.id))
        this.store.finishOrphan(orphan.id, ending)
      } catch (error) {
        log('error', 'could not finalize an interrupted generation; the next alarm retries', { generationId: orphan.id, error: String(error) })
      }
    }
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null
    await this.recover()
    this.store.purgeExpired()
    this.schedule()
  }

  // RPC, called by the Worker's hub (durable-object-hub.ts).

  /**
   * Registers the generation and runs it detached. A refusal (the id is known, or another generation runs here) is
   * returned rather than thrown: errors lose their class over RPC, and a rejected call also surfaces in the object.
   */
  async start(task: GenerationTask, options: { retentionMs?: number } = {}): Promise<string | null> {
    const retentionMs = options.retentionMs ?? (localTasks.has(task.task) ? DEFAULT_RETENTION_MS : this.services().services.config.STREAM_RETENTION_SECONDS * 1000)
    try {
      // The task arrived over RPC: its input is checked here, where it runs.
      await this.store.start(localTasks.has(task.task) ? task : this.services().services.tasks.parse(task), { retentionMs })
    } catch (error) {
      if (error instanceof GenerationConflictError) return error.message
      throw error
    }
    const running = this.store.running(task.generationId)
    if (running) this.ctx.waitUntil(running)
    return null
  }

  /** Events after `after` as NDJSON batches, replayed from storage then followed live; null when unknown here. */
  async subscribe(generationId: string, after: number): Promise<ReadableStream<Uint8Array> | null> {
    const events = await this.store.subscribe(generationId, after)
    return events ? encodeBatches(events) : null
  }

  async cancel(generationId: string): Promise<boolean> {
    return this.store.cancel(generationId)
  }

  async status(generationId: string): Promise<HubStatus | null> {
    return this.store.status(generationId)
  }
}
