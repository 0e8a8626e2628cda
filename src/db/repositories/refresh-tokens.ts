import { and, eq, isNull, sql } from 'drizzle-orm'
import type { Database } from '../database'
import { refreshTokens } from '../schema'

export type RefreshTokenRow = typeof refreshTokens.$inferSelect

/**
 * Inserts a refresh token only while its user's session generation is still `generation` and, for a rotation, while
 * the token it replaces is unrevoked: one statement, so a logout-all, password change or logout that commits first
 * cannot be outlived by a token issued from what it ended. A row with the same hash is kept as it is (the grace
 * window inserts the same successor again). Returns the stored row, or undefined when a guard refused it.
 */
export async function insertRefreshTokenGuarded(
  db: Database,
  row: { id: string; userId: string; familyId: string; tokenHash: string; expiresAt: Date; createdAt: Date },
  guard: { generation: number; parentId?: string },
): Promise<RefreshTokenRow | undefined> {
  const parentUnrevoked = guard.parentId
    ? sql`and exists (select 1 from ${refreshTokens} where ${refreshTokens.id} = ${guard.parentId} and ${refreshTokens.revokedAt} is null)`
    : sql``
  await db.run(sql`insert into ${refreshTokens} (id, user_id, family_id, token_hash, expires_at, created_at)
    select ${row.id}, ${row.userId}, ${row.familyId}, ${row.tokenHash}, ${row.expiresAt.getTime()}, ${row.createdAt.getTime()}
    where exists (select 1 from users where id = ${row.userId} and session_generation = ${guard.generation}) ${parentUnrevoked}
    on conflict (token_hash) do nothing`)
  const stored = await findRefreshTokenByHash(db, row.tokenHash)
  return stored && !stored.revokedAt && stored.userId === row.userId ? stored : undefined
}

export async function findRefreshTokenByHash(db: Database, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  return db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).get()
}

/** Marks a token used; false when another request rotated it first (a reuse). */
export async function markRotated(db: Database, id: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(refreshTokens)
    .set({ rotatedAt: now })
    .where(and(eq(refreshTokens.id, id), isNull(refreshTokens.rotatedAt), isNull(refreshTokens.revokedAt)))
    .returning({ id: refreshTokens.id })
  return rows.length === 1
}

export async function revokeFamily(db: Database, familyId: string, now: Date): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
}
