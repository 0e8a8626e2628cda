import { and, eq, gt, lt, sql } from 'drizzle-orm'
import type { Database } from '../database'
import { placeholder, prepared } from '../prepared'
import { generationLogs, generations, streamOwners } from '../schema'
import type { ArchivedLog, EventArchive, StreamLeases } from '../../stream/memory-ports'

/** The memory hub's owner `ownerId` over the database: one heartbeat row per process. */
export function databaseLeases(db: Database, ownerId: string): StreamLeases {
  return {
    ownerId,
    async heartbeat(at) {
      const upsert = prepared(db, 'streamOwners.heartbeat', () =>
        db
          .insert(streamOwners)
          .values({ id: placeholder('id'), heartbeatAt: placeholder('at') })
          .onConflictDoUpdate({ target: streamOwners.id, set: { heartbeatAt: sql`excluded.heartbeat_at` } })
          .prepare(),
      )
      await upsert.run({ id: ownerId, at })
    },
    async ownership(generationId) {
      const row = await db
        .select({ ownerId: generations.ownerId, heartbeatAt: streamOwners.heartbeatAt })
        .from(generations)
        .leftJoin(streamOwners, eq(streamOwners.id, generations.ownerId))
        .where(eq(generations.id, generationId))
        .get()
      return row ? { ownerId: row.ownerId, heartbeatAt: row.heartbeatAt ?? null } : null
    },
    async forget(before) {
      await db.delete(streamOwners).where(lt(streamOwners.heartbeatAt, before))
    },
  }
}

/** Rows per insert: 5 bound parameters each, within D1's 100 per statement. */
const INSERT_ROWS = 20

/** Finished generations' packed event logs, one row each, deleted once expired. */
export function databaseEventArchive(db: Database): EventArchive {
  return {
    async put(logs) {
      const inserts = []
      for (let i = 0; i < logs.length; i += INSERT_ROWS) inserts.push(db.insert(generationLogs).values(logs.slice(i, i + INSERT_ROWS)).onConflictDoNothing())
      const [first, ...rest] = inserts
      // One transaction (one commit) for the whole lot.
      if (first) await db.batch([first, ...rest])
    },
    async get(generationId, now) {
      const read = prepared(db, 'generationLogs.get', () =>
        db
          .select()
          .from(generationLogs)
          .where(and(eq(generationLogs.generationId, sql.placeholder('generationId')), gt(generationLogs.expiresAt, sql.placeholder('now'))))
          .prepare(),
      )
      const row = await read.get({ generationId, now })
      return (row as ArchivedLog | undefined) ?? null
    },
    async sweep(now) {
      await db.delete(generationLogs).where(lt(generationLogs.expiresAt, now))
    },
  }
}
