import { and, eq, inArray, isNull, sql } from 'drizzle-orm'
import { normalizeEmail, normalizeEmailOrNull } from '../../lib/email'
import type { Database } from '../database'
import { users, workspaces, memberships, refreshTokens } from '../schema'

export type UserRow = typeof users.$inferSelect

/** Kept here for callers that imported it from this module; src/lib/email.ts has it. */
export { normalizeEmail }

export async function findUserById(db: Database, id: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.id, id)).get()
}

/**
 * The user with this address, compared in normalized form (src/lib/email.ts). Rows written before emails were
 * normalized hold the trimmed, lower-cased address as typed: that form is looked up too, the normalized row first.
 */
export async function findUserByEmail(db: Database, email: string): Promise<UserRow | undefined> {
  const normalized = normalizeEmailOrNull(email)
  const legacy = email.trim().toLowerCase()
  const candidates = normalized && normalized !== legacy ? [normalized, legacy] : [normalized ?? legacy]
  const rows = await db.select().from(users).where(inArray(users.email, candidates)).limit(2)
  return rows.find((row) => row.email === normalized) ?? rows[0]
}

export async function findUserByExternalSubject(db: Database, subject: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.externalSubject, subject)).get()
}

export async function linkExternalSubject(db: Database, userId: string, subject: string, now: Date): Promise<void> {
  await db.update(users).set({ externalSubject: subject, updatedAt: now }).where(eq(users.id, userId))
}

/** Creates a user together with their personal workspace, in one batch. */
export async function createUserWithWorkspace(
  db: Database,
  input: { userId: string; workspaceId: string; email: string; name: string | null; passwordHash: string | null; externalSubject?: string; now: Date },
): Promise<{ user: UserRow; workspace: typeof workspaces.$inferSelect }> {
  const user: UserRow = {
    id: input.userId,
    email: normalizeEmail(input.email),
    name: input.name,
    passwordHash: input.passwordHash,
    externalSubject: input.externalSubject ?? null,
    sessionGeneration: 0,
    createdAt: input.now,
    updatedAt: input.now,
  }
  const workspace = {
    id: input.workspaceId,
    name: input.name ? `${input.name}'s workspace` : 'Personal',
    personal: true,
    createdAt: input.now,
    updatedAt: input.now,
  }
  await db.batch([
    db.insert(users).values(user),
    db.insert(workspaces).values(workspace),
    db.insert(memberships).values({ workspaceId: workspace.id, userId: user.id, role: 'owner', createdAt: input.now }),
  ])
  return { user, workspace }
}

/** Replaces a hash that verified with a stronger one, unless the password changed meanwhile. */
export async function upgradePasswordHash(db: Database, userId: string, previous: string, next: string, now: Date): Promise<void> {
  await db.update(users).set({ passwordHash: next, updatedAt: now }).where(and(eq(users.id, userId), eq(users.passwordHash, previous)))
}

export async function findSessionGeneration(db: Database, userId: string): Promise<number | null> {
  const row = await db.select({ generation: users.sessionGeneration }).from(users).where(eq(users.id, userId)).get()
  return row ? row.generation : null
}

/**
 * Ends every session of a user in one batch: the session generation goes up (access tokens issued before stop
 * verifying), every refresh token is revoked, and the password hash is replaced when one is given.
 * Returns the new generation.
 */
export async function endAllSessions(db: Database, userId: string, now: Date, passwordHash?: string): Promise<number | null> {
  const [updated] = await db.batch([
    db
      .update(users)
      .set({ sessionGeneration: sql`${users.sessionGeneration} + 1`, updatedAt: now, ...(passwordHash ? { passwordHash } : {}) })
      .where(eq(users.id, userId))
      .returning({ generation: users.sessionGeneration }),
    db.update(refreshTokens).set({ revokedAt: now }).where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt))),
  ])
  return updated[0]?.generation ?? null
}
