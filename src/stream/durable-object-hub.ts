/**
 * The Worker side of the Durable Object hub: a GenerationHub that routes every call to the object that owns the
 * generation — one object per conversation (`idFromName(conversationId)`), which runs the generation itself
 * (src/stream/durable-object.ts). The Worker only routes; nothing about a generation lives in the isolate.
 *
 * Routing by generation id: `start` knows the conversation; `subscribe`, `cancel` and `status` get a generation id
 * only, so the hub asks `locate` (on Workers: the conversation column of the `generations` row in D1, which the turn
 * wrote before starting) and remembers the answer — the mapping never changes, so the cache needs no invalidation.
 *
 * Wire format between object and Worker: the object's `subscribe` returns a byte stream of event batches, one JSON
 * array per line (NDJSON), decoded back into `SequencedEvent[]` here so the SSE encoder works unchanged. When that
 * stream breaks before the terminal event (the object was reset: a deploy, an eviction), the hub re-attaches from
 * its cursor; the restarted object has finalized the interrupted generation by then (or does so on that wake).
 *
 * Workers types in type position only: this file never imports `cloudflare:workers`.
 */
import { isTerminal, type SequencedEvent } from './events'
import type { GenerationHub, GenerationTask, HubStatus } from './hub'

const encoder = new TextEncoder()

/**
 * One line per batch: the object writes them, the Worker reads them (split across chunks as the pipe pleases).
 * Pumped by a task of our own rather than a pull source, so a reader that goes away (a client disconnecting) ends
 * the subscription through a rejected write we catch, not through an unhandled rejection in the runtime's pump.
 */
export function encodeBatches(batches: AsyncIterable<SequencedEvent[]>): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
  const writer = writable.getWriter()
  writer.closed.catch(() => {})
  const iterator = batches[Symbol.asyncIterator]()
  void (async () => {
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        await writer.write(encoder.encode(`${JSON.stringify(next.value)}\n`))
      }
      await writer.close()
    } catch (error) {
      await writer.abort(error).catch(() => {})
    } finally {
      await iterator.return?.()
    }
  })()
  return readable
}

/** Splits NDJSON batch lines out of a byte stream's chunks (a line may span chunks). */
export class BatchDecoder {
  private readonly decoder = new TextDecoder()
  private buffer = ''

  push(chunk: Uint8Array): SequencedEvent[] {
    this.buffer += this.decoder.decode(chunk, { stream: true })
    const end = this.buffer.lastIndexOf('\n')
    if (end < 0) return []
    const events: SequencedEvent[] = []
    for (const line of this.buffer.slice(0, end).split('\n')) if (line) events.push(...(JSON.parse(line) as SequencedEvent[]))
    this.buffer = this.buffer.slice(end + 1)
    return events
  }
}

const IDLE = Symbol('idle')

function readOrIdle<T>(read: Promise<T>, ms: number): Promise<T | typeof IDLE> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const idle = new Promise<typeof IDLE>((resolve) => {
    timer = setTimeout(() => resolve(IDLE), ms)
  })
  return Promise.race([read, idle]).finally(() => clearTimeout(timer))
}

/** The object's RPC surface (GenerationObjectBase in durable-object.ts implements it). */
export interface GenerationObjectRpc extends Rpc.DurableObjectBranded {
  /** Null once started; why not otherwise (the id is known, or another generation runs in the conversation). */
  start(task: GenerationTask, options: { retentionMs?: number }): Promise<string | null>
  subscribe(generationId: string, after: number): Promise<ReadableStream<Uint8Array> | null>
  cancel(generationId: string): Promise<boolean>
  status(generationId: string): Promise<HubStatus | null>
}

export interface DurableObjectHubOptions {
  /** The `GENERATIONS` binding: the class exported by the Worker entry (GenerationObject). */
  namespace: DurableObjectNamespace<GenerationObjectRpc>
  /** The conversation (hence the object) a generation belongs to; null when no such generation exists. */
  locate(generationId: string): Promise<string | null>
  /** How long the object keeps a finished generation's events (STREAM_RETENTION_SECONDS). */
  retentionMs: number
  /** Re-attachments after the object's stream breaks mid-generation, before the error reaches the client. */
  reattach?: number
  /**
   * After this long without a byte from the object, ask the object (through a fresh stub) whether the generation
   * moved on without us — our stream is then stale (its object was reset and never closed it) — and re-attach.
   */
  probeMs?: number
}

/** Bound of the generation → conversation cache (entries are ~100 bytes). */
const REMEMBERED = 10_000
/** A turn's row is written moments before its object hears of it: younger generations are never orphans. */
const ORPHAN_GRACE_MS = 10_000

export function createDurableObjectHub({ namespace, locate, retentionMs, reattach = 3, probeMs = 5_000 }: DurableObjectHubOptions): GenerationHub {
  const owners = new Map<string, string>()

  const remember = (generationId: string, conversationId: string) => {
    owners.delete(generationId)
    owners.set(generationId, conversationId)
    if (owners.size > REMEMBERED) owners.delete(owners.keys().next().value!)
  }

  // A fresh stub per call: a stub that saw its object reset stays broken, a new one reaches the new instance.
  const objectFor = (conversationId: string) => namespace.get(namespace.idFromName(conversationId))

  const objectOf = async (generationId: string) => {
    let conversationId = owners.get(generationId)
    if (conversationId === undefined) {
      conversationId = (await locate(generationId)) ?? undefined
      if (conversationId === undefined) return null
      remember(generationId, conversationId)
    }
    return objectFor(conversationId)
  }

  const status = async (generationId: string): Promise<HubStatus | null> => {
    const object = await objectOf(generationId)
    return object ? object.status(generationId) : null
  }

  /** Whether the generation went further than our stream says: it ended or has events after `cursor`. */
  const movedOn = async (generationId: string, cursor: number) => {
    const current = await status(generationId)
    return !current || current.state !== 'running' || current.lastEventId > cursor
  }

  async function* follow(generationId: string, after: number, first: ReadableStream<Uint8Array>): AsyncGenerator<SequencedEvent[]> {
    let cursor = after
    let stream: ReadableStream<Uint8Array> | null = first
    let failures = 0
    while (stream) {
      const reader = stream.getReader()
      const decoder = new BatchDecoder()
      let read: Promise<ReadableStreamReadResult<Uint8Array>> | null = null
      try {
        for (;;) {
          read ??= reader.read()
          const result = await readOrIdle(read, probeMs)
          if (result === IDLE) {
            if (await movedOn(generationId, cursor)) throw new Error('the object stream went stale')
            continue
          }
          read = null
          if (result.done) return
          const batch = decoder.push(result.value)
          if (batch.length === 0) continue
          failures = 0
          const last = batch[batch.length - 1]!
          cursor = last.id
          yield batch
          if (isTerminal(last)) return
        }
      } catch (error) {
        if (++failures > reattach) throw error
      } finally {
        reader.cancel().catch(() => {})
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * failures))
      const object = await objectOf(generationId)
      stream = object ? await object.subscribe(generationId, cursor) : null
    }
  }

  return {
    async start(task: GenerationTask) {
      const known = owners.get(task.generationId)
      if (known !== undefined && known !== task.conversationId) throw new Error(`generation ${task.generationId} already started in another conversation`)
      const refused = await objectFor(task.conversationId).start(task, { retentionMs })
      if (refused) throw new Error(refused)
      remember(task.generationId, task.conversationId)
    },

    async subscribe(generationId: string, after: number) {
      const object = await objectOf(generationId)
      const stream = object ? await object.subscribe(generationId, Math.max(0, after)) : null
      return stream ? follow(generationId, Math.max(0, after), stream) : null
    },

    async cancel(generationId: string) {
      const object = await objectOf(generationId)
      return object ? object.cancel(generationId) : false
    },

    status,

    async ping() {
      await objectFor('readiness-probe').status('gen_readiness_probe')
    },

    async isOrphaned(generationId: string, startedAt: Date) {
      // An object finalizes the generations it lost itself (on wake and by alarm): one it knows is not an orphan
      // here. One it never heard of, well after its row was written, never reached it (or outlived its retention).
      if (Date.now() - startedAt.getTime() <= ORPHAN_GRACE_MS) return false
      return (await status(generationId)) === null
    },

    // The object keeps itself working (its own I/O, an alarm heartbeat): the Worker request need not wait for it.
    running() {
      return undefined
    },
  }
}
