import { eq } from 'drizzle-orm'
import type { Database } from '../database'
import { users, workspaces, memberships } from '../schema'

export type UserRow = typeof users.$inferSelect

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

export async function findUserById(db: Database, id: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.id, id)).get()
}

export async function findUserByEmail(db: Database, email: string): Promise<UserRow | undefined> {
  return db.select().from(users).where(eq(users.email, normalizeEmail(email))).get()
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
