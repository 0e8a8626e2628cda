/**
 * The memory hub over a database shared with other processes: owners' heartbeats decide which running generations
 * are orphaned, and finished generations' events spill to the database (replays stay exact, the heap bounded).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config'
import type { Database } from '../../src/db/database'
import { libsqlDatabase } from '../../src/db/libsql'
import { databaseEventArchive, databaseLeases } from '../../src/db/repositories/stream-state'
import { generationLogs, generations, streamOwners } from '../../src/db/schema'
import { openDatabase } from '../../src/entries/local'
import type { GenerationEvent } from '../../src/stream/events'
import type { ProducerContext } from '../../src/stream/hub'
import { createMemoryHub } from '../../src/stream/memory-hub'
import { collect, describeHubConformance, until } from './hub-conformance'

async function testDatabase(): Promise<{ db: Database; close(): void }> {
  const client = await openDatabase(parseConfig({ DATABASE_URL: ':memory:', JWT_SECRET: 'x'.repeat(48), LOG_LEVEL: 'silent' }))
  // Generation rows here stand alone (no users or conversations behind them).
  await client.execute('PRAGMA foreign_keys = OFF')
  return { db: libsqlDatabase(client), close: () => client.close() }
}

let ownerCounter = 0
const newOwner = () => `owner_${++ownerCounter}`

// Every finished generation spills at once and leaves memory: every replay in the suite reads the database.
describeHubConformance('memory (spilled to the database)', async (run, { retentionMs, staleMs }) => {
  const { db, close } = await testDatabase()
  const hub = createMemoryHub({
    run,
    retentionMs,
    staleMs,
    archiveAfterMs: 0,
    memoryBytes: 0,
    leases: databaseLeases(db, newOwner()),
    archive: databaseEventArchive(db),
  })
  return { owner: hub, remote: hub, close: async () => close() }
})

const STALE_MS = 30_000

async function insertGeneration(db: Database, id: string, ownerId: string | null, startedAt: number) {
  await db.insert(generations).values({
    id,
    conversationId: `conv_${id}`,
    userId: 'usr_x',
    userMessageId: 'msg_u',
    assistantMessageId: 'msg_a',
    status: 'running',
    modelId: 'm',
    startedAt: new Date(startedAt),
    ownerId,
  })
}

describe('memory hub ownership in a shared database', () => {
  let db: Database
  let close: () => void
  beforeAll(async () => ({ db, close } = await testDatabase()))
  afterAll(() => close())

  it('orphans only generations whose owner is silent, gone, or itself without the producer', async () => {
    let clock = 1_000_000
    const hub = createMemoryHub({ run: async () => {}, now: () => clock, leases: databaseLeases(db, 'owner_me'), staleMs: STALE_MS })
    await db.insert(streamOwners).values([
      { id: 'owner_live', heartbeatAt: clock - 5_000 },
      { id: 'owner_dead', heartbeatAt: clock - STALE_MS - 1 },
    ])
    const old = clock - STALE_MS - 10_000
    await insertGeneration(db, 'gen_live', 'owner_live', old)
    await insertGeneration(db, 'gen_dead', 'owner_dead', old)
    await insertGeneration(db, 'gen_gone', 'owner_gone', old)
    await insertGeneration(db, 'gen_young', 'owner_gone', clock - 1_000)
    await insertGeneration(db, 'gen_mine', 'owner_me', old)
    await insertGeneration(db, 'gen_legacy_old', null, clock - 1)
    await insertGeneration(db, 'gen_legacy_new', null, clock + 1)
    clock += 1
    const orphaned = async (id: string) => hub.isOrphaned(id, (await db.select().from(generations).all()).find((g) => g.id === id)!.startedAt)
    expect(await orphaned('gen_live')).toBe(false)
    expect(await orphaned('gen_dead')).toBe(true)
    expect(await orphaned('gen_gone')).toBe(true)
    expect(await orphaned('gen_young')).toBe(false) // its owner may not have beaten yet
    expect(await orphaned('gen_mine')).toBe(true)
    // Rows from before owners: the one-process rule.
    expect(await orphaned('gen_legacy_old')).toBe(true)
    expect(await orphaned('gen_legacy_new')).toBe(false)
  })

  it('keeps a running producer’s owner alive for another hub, however long the generation runs', async () => {
    let clock = 5_000_000
    let release = () => {}
    const running = new Promise<void>((resolve) => (release = resolve))
    const run = async (_task: unknown, { emit }: ProducerContext) => {
      await running
      emit({ type: 'generation.cancelled', data: { generationId: 'gen_long' } })
    }
    const owner = createMemoryHub({ run, now: () => clock, leases: databaseLeases(db, 'owner_a'), staleMs: STALE_MS })
    await insertGeneration(db, 'gen_long', 'owner_a', clock)
    await owner.start({ generationId: 'gen_long', conversationId: 'conv_gen_long', task: 'chat', input: null })
    clock += 10 * STALE_MS // the generation is now old; its producer's timer beats with the new time
    const other = createMemoryHub({ run, now: () => clock, leases: databaseLeases(db, 'owner_b'), staleMs: STALE_MS })
    const heartbeat = async () => (await db.select().from(streamOwners).all()).find((o) => o.id === 'owner_a')?.heartbeatAt
    await until(async () => (await heartbeat()) === clock)
    expect(await other.isOrphaned('gen_long', new Date(clock - 10 * STALE_MS))).toBe(false)
    release()
    await owner.running('gen_long')
    clock += STALE_MS + 1 // the producer is gone: nothing beats any more
    expect(await other.isOrphaned('gen_long', new Date(clock - 11 * STALE_MS))).toBe(true)
  })
})

describe('memory hub spill to the database', () => {
  let db: Database
  let close: () => void
  beforeAll(async () => ({ db, close } = await testDatabase()))
  afterAll(() => close())

  const script = (generationId: string, count: number): GenerationEvent[] => [
    { type: 'generation.started', data: { generationId, conversationId: 'conv_1', userMessageId: 'msg_1', assistantMessageId: 'msg_2', modelId: 'm' } },
    ...Array.from({ length: count }, (_, i): GenerationEvent => ({ type: 'text.delta', data: { generationId, delta: `tök"en ${i} ` } })),
    { type: 'generation.completed', data: { generationId, assistantMessageId: 'msg_2', stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: count }, latencyMs: 3 } },
  ]
  const logRows = async () => db.select().from(generationLogs).all()

  it('moves finished logs to the database past the memory budget, and replays them exactly from there, in any process', async () => {
    let clock = 10_000_000
    const scripts = new Map<string, GenerationEvent[]>()
    const run = async ({ generationId }: { generationId: string }, { emit }: ProducerContext) => scripts.get(generationId)!.forEach(emit)
    const options = { run, now: () => clock, archiveAfterMs: 5_000, retentionMs: 600_000, archive: databaseEventArchive(db), leases: databaseLeases(db, 'owner_s') }
    // Room for two packed logs of 20 deltas (≈ 1,400 characters each).
    const hub = createMemoryHub({ ...options, memoryBytes: 3_000 })
    const ids = ['gen_s1', 'gen_s2', 'gen_s3', 'gen_s4', 'gen_s5']
    const live = new Map<string, Awaited<ReturnType<typeof collect>>>()
    for (const id of ids) {
      scripts.set(id, script(id, 20))
      await hub.start({ generationId: id, conversationId: 'conv_1', task: 'chat', input: null })
      live.set(id, await collect(await hub.subscribe(id, 0)))
      clock += 100
    }
    expect(await logRows()).toHaveLength(0)

    clock += 5_000 // past the archive delay: packed, spilled, then the oldest leave memory
    await hub.status('gen_s5')
    await until(async () => (await logRows()).length === ids.length)
    for (const row of await logRows()) expect(row.expiresAt).toBeGreaterThan(clock + 590_000)

    for (const id of ids) {
      expect(await collect(await hub.subscribe(id, 0))).toEqual(live.get(id))
      expect(await collect(await hub.subscribe(id, 7))).toEqual(live.get(id)!.slice(7))
      expect(await hub.status(id)).toEqual({ state: 'completed', lastEventId: 22 })
    }
    // Another process over the same database replays them too.
    const other = createMemoryHub({ ...options, leases: databaseLeases(db, 'owner_t') })
    for (const id of ids) expect(await collect(await other.subscribe(id, 0))).toEqual(live.get(id))

    // Only the newest stayed in memory: without their rows, the oldest are gone and the newest still replay.
    await db.delete(generationLogs)
    expect(await hub.subscribe('gen_s1', 0)).toBeNull()
    expect(await hub.status('gen_s2')).toBeNull()
    expect(await collect(await hub.subscribe('gen_s5', 0))).toEqual(live.get('gen_s5'))
  })

  it('expires logs with the retention window and deletes them from the database', async () => {
    let clock = 20_000_000
    const run = async ({ generationId }: { generationId: string }, { emit }: ProducerContext) => script(generationId, 3).forEach(emit)
    const hub = createMemoryHub({ run, now: () => clock, archiveAfterMs: 0, retentionMs: 60_000, memoryBytes: 0, archive: databaseEventArchive(db) })
    await db.delete(generationLogs)
    await hub.start({ generationId: 'gen_e1', conversationId: 'conv_1', task: 'chat', input: null })
    await collect(await hub.subscribe('gen_e1', 0))
    clock += 1
    await hub.status('gen_e1')
    await until(async () => (await logRows()).length === 1)
    clock += 30_000
    expect((await hub.status('gen_e1'))?.state).toBe('completed')
    clock += 30_001
    expect(await hub.status('gen_e1')).toBeNull()
    expect(await hub.subscribe('gen_e1', 0)).toBeNull()
    clock += 60_000 // the periodic sweep's turn
    await hub.status('gen_e1')
    await until(async () => (await logRows()).length === 0)
  })
})
