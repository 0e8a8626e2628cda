/**
 * The behaviour every GenerationHub must have, as one suite run unchanged against each implementation (memory,
 * Redis, Durable Object). No Node built-ins: it also runs under workerd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GenerationEvent, SequencedEvent } from '../../src/stream/events'
import type { GenerationHub, GenerationTask, ProducerContext, TaskRunner } from '../../src/stream/hub'

export interface HubPair {
  /** The hub that starts (and so runs) generations. */
  owner: GenerationHub
  /** Another hub over the same state (another process, another request); may be `owner` itself. */
  remote: GenerationHub
  close(): Promise<void>
}

/** Builds hubs around a runner; `retentionMs` and `staleMs` are small so expiry is observable in a test. */
export type HubFactory = (run: TaskRunner, options: { retentionMs: number; staleMs: number }) => Promise<HubPair>

const RETENTION_MS = 1_500
const STALE_MS = 1_000

type Script = (context: ProducerContext, generationId: string) => Promise<void>

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const delta = (generationId: string, text: string): GenerationEvent => ({ type: 'text.delta', data: { generationId, delta: text } })
const completed = (generationId: string): GenerationEvent => ({
  type: 'generation.completed',
  data: { generationId, assistantMessageId: 'msg_x', stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 },
})

/** Every event of a subscription, to its end. */
export async function collect(events: AsyncIterable<SequencedEvent[]> | null): Promise<SequencedEvent[]> {
  if (!events) throw new Error('generation unknown to the hub')
  const all: SequencedEvent[] = []
  for await (const batch of events) all.push(...batch)
  return all
}

export async function until(check: () => Promise<boolean>, ms = 5_000, what = 'condition') {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached in time`)
    await sleep(10)
  }
}

export function describeHubConformance(name: string, factory: HubFactory) {
  describe(`${name} hub conformance`, () => {
    const scripts = new Map<string, Script>()
    const run: TaskRunner = (task: GenerationTask, context) => {
      const script = scripts.get(task.generationId)
      if (!script) throw new Error(`no script for ${task.generationId}`)
      return script(context, task.generationId)
    }
    let hubs: HubPair
    let counter = 0

    beforeAll(async () => {
      hubs = await factory(run, { retentionMs: RETENTION_MS, staleMs: STALE_MS })
    })
    afterAll(async () => {
      await hubs?.close()
    })

    const start = async (script: Script) => {
      const generationId = `gen_conformance_${Date.now()}_${++counter}`
      scripts.set(generationId, script)
      await hubs.owner.start({ generationId, conversationId: `conv_${counter}`, task: 'test', input: null })
      return generationId
    }

    /** A producer that emits `count` deltas `gapMs` apart, then completes. */
    const paced = (count: number, gapMs = 0): Script => async ({ emit }, id) => {
      emit({ type: 'generation.started', data: { generationId: id, conversationId: 'c', userMessageId: 'u', assistantMessageId: 'a', modelId: 'm' } })
      for (let i = 0; i < count; i++) {
        if (gapMs) await sleep(gapMs)
        emit(delta(id, `t${i} `))
      }
      emit(completed(id))
    }

    it('numbers events from 1 in order, with no gaps or duplicates, ending with one terminal event', async () => {
      const id = await start(paced(50))
      const events = await collect(await hubs.remote.subscribe(id, 0))
      expect(events.map((e) => e.id)).toEqual(Array.from({ length: 52 }, (_, i) => i + 1))
      expect(events.filter((e) => e.type === 'text.delta').map((e) => (e.data as { delta: string }).delta)).toEqual(
        Array.from({ length: 50 }, (_, i) => `t${i} `),
      )
      expect(events.at(-1)!.type).toBe('generation.completed')
      expect(await hubs.remote.status(id)).toEqual({ state: 'completed', lastEventId: 52 })
    })

    it('replays events after a cursor from storage, then follows live', async () => {
      const id = await start(paced(30, 5))
      const first = await hubs.remote.subscribe(id, 0)
      const iterator = first![Symbol.asyncIterator]()
      const head: SequencedEvent[] = []
      while (head.length < 5) head.push(...(((await iterator.next()).value as SequencedEvent[] | undefined) ?? []))
      await iterator.return?.()
      const cursor = head[4]!.id
      const rest = await collect(await hubs.remote.subscribe(id, cursor))
      expect(rest[0]!.id).toBe(cursor + 1)
      expect([...head.slice(0, 5), ...rest].map((e) => e.id)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1))
    })

    it('gives every concurrent subscriber the full sequence', async () => {
      const id = await start(paced(40, 2))
      const all = await Promise.all(Array.from({ length: 8 }, (_, i) => hubs[i % 2 ? 'remote' : 'owner'].subscribe(id, 0).then(collect)))
      for (const events of all) expect(events.map((e) => e.id)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1))
    })

    it('replays everything, terminal included, to a subscriber that attaches after the end', async () => {
      const id = await start(paced(5))
      await until(async () => (await hubs.remote.status(id))?.state === 'completed')
      const events = await collect(await hubs.remote.subscribe(id, 0))
      expect(events.map((e) => e.type)).toEqual(['generation.started', ...Array(5).fill('text.delta'), 'generation.completed'])
      expect(await collect(await hubs.remote.subscribe(id, 7))).toEqual([])
    })

    it('carries a cancel to the producer, wherever it is asked', async () => {
      let aborted = false
      const id = await start(async ({ emit, signal }, generationId) => {
        emit(delta(generationId, 'partial'))
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
        aborted = true
        emit({ type: 'generation.cancelled', data: { generationId } })
      })
      const watching = hubs.remote.subscribe(id, 0).then(collect)
      await until(async () => ((await hubs.remote.status(id))?.lastEventId ?? 0) >= 1)
      expect(await hubs.remote.cancel(id)).toBe(true)
      const events = await watching
      expect(aborted).toBe(true)
      expect(events.map((e) => e.type)).toEqual(['text.delta', 'generation.cancelled'])
      expect((await hubs.remote.status(id))?.state).toBe('cancelled')
      expect(await hubs.remote.cancel(id)).toBe(false)
    })

    it('keeps final states final: nothing is appended after the terminal event', async () => {
      const id = await start(async ({ emit }, generationId) => {
        emit(completed(generationId))
        emit(delta(generationId, 'late'))
        emit({ type: 'generation.failed', data: { generationId, code: 'internal', message: 'late', retryable: false } })
      })
      const events = await collect(await hubs.remote.subscribe(id, 0))
      expect(events.map((e) => e.type)).toEqual(['generation.completed'])
      expect(await hubs.remote.status(id)).toEqual({ state: 'completed', lastEventId: 1 })
    })

    it('fails a generation whose producer ends without a terminal event, or throws', async () => {
      const quiet = await start(async ({ emit }, generationId) => emit(delta(generationId, 'x')))
      const thrown = await start(async () => {
        throw new Error('boom')
      })
      for (const id of [quiet, thrown]) {
        const events = await collect(await hubs.remote.subscribe(id, 0))
        expect(events.at(-1)).toMatchObject({ type: 'generation.failed', data: { generationId: id, retryable: false } })
        expect((await hubs.remote.status(id))?.state).toBe('failed')
      }
    })

    it('answers unknown generations with null / false, and refuses to start one twice', async () => {
      expect(await hubs.remote.subscribe('gen_unknown', 0)).toBeNull()
      expect(await hubs.remote.status('gen_unknown')).toBeNull()
      expect(await hubs.remote.cancel('gen_unknown')).toBe(false)
      const id = await start(paced(1))
      await expect(hubs.owner.start({ generationId: id, conversationId: 'c', task: 'test', input: null })).rejects.toThrow()
    })

    it('delivers a burst of 2,000 events in order', async () => {
      const id = await start(paced(2_000))
      const events = await collect(await hubs.remote.subscribe(id, 0))
      expect(events).toHaveLength(2_002)
      expect(events.every((e, i) => e.id === i + 1)).toBe(true)
    })

    it('expires finished generations after the retention window', async () => {
      const id = await start(paced(2))
      await until(async () => (await hubs.remote.status(id))?.state === 'completed')
      expect(await hubs.remote.subscribe(id, 0)).not.toBeNull()
      await sleep(RETENTION_MS + 1_000)
      await until(async () => (await hubs.remote.status(id)) === null, RETENTION_MS + 3_000)
      expect(await hubs.remote.subscribe(id, 0)).toBeNull()
    })
  })
}
