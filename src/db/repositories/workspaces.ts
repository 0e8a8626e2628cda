import { and, asc, count, eq, gt, inArray, sql } from 'drizzle-orm'
import type { Database } from '../database'
import { prepared } from '../prepared'
import { apiKeys, conversations, generations, invitations, memberships, messages, users, workspaces, type Role } from '../schema'

export type WorkspaceRow = typeof workspaces.$inferSelect
export type WorkspaceWithRole = WorkspaceRow & { role: Role }
export type MemberRow = { userId: string; email: string; name: string | null; role: Role; createdAt: Date }

const workspaceWithRole = {
  id: workspaces.id,
  name: workspaces.name,
  personal: workspaces.personal,
  createdAt: workspaces.createdAt,
  updatedAt: workspaces.updatedAt,
  role: memberships.role,
}

export async function findWorkspaceForUser(db: Database, workspaceId: string, userId: string): Promise<WorkspaceWithRole | undefined> {
  return db
    .select(workspaceWithRole)
    .from(workspaces)
    .innerJoin(memberships, eq(memberships.workspaceId, workspaces.id))
    .where(and(eq(workspaces.id, workspaceId), eq(memberships.userId, userId)))
    .get()
}

export async function listWorkspacesForUser(
  db: Database,
  userId: string,
  page: { after: string | null; limit: number; only?: string | null },
): Promise<WorkspaceWithRole[]> {
  return db
    .select(workspaceWithRole)
    .from(workspaces)
    .innerJoin(memberships, eq(memberships.workspaceId, workspaces.id))
    .where(
      and(
        eq(memberships.userId, userId),
        page.after ? gt(workspaces.id, page.after) : undefined,
        page.only ? eq(workspaces.id, page.only) : undefined,
      ),
    )
    .orderBy(asc(workspaces.id))
    .limit(page.limit + 1)
    .all()
}

export async function createWorkspace(db: Database, input: { id: string; name: string; ownerId: string; now: Date }): Promise<WorkspaceRow> {
  const row: WorkspaceRow = { id: input.id, name: input.name, personal: false, createdAt: input.now, updatedAt: input.now }
  await db.batch([
    db.insert(workspaces).values(row),
    db.insert(memberships).values({ workspaceId: input.id, userId: input.ownerId, role: 'owner', createdAt: input.now }),
  ])
  return row
}

export async function renameWorkspace(db: Database, id: string, name: string, now: Date): Promise<void> {
  await db.update(workspaces).set({ name, updatedAt: now }).where(eq(workspaces.id, id))
}

/** Deletes children explicitly (not every libsql connection enforces foreign keys), all in one batch. */
export async function deleteWorkspace(db: Database, id: string): Promise<void> {
  const conversationIds = db.select({ id: conversations.id }).from(conversations).where(eq(conversations.workspaceId, id))
  await db.batch([
    db.delete(messages).where(inArray(messages.conversationId, conversationIds)),
    db.delete(generations).where(inArray(generations.conversationId, conversationIds)),
    db.delete(conversations).where(eq(conversations.workspaceId, id)),
    db.delete(apiKeys).where(eq(apiKeys.workspaceId, id)),
    db.delete(invitations).where(eq(invitations.workspaceId, id)),
    db.delete(memberships).where(eq(memberships.workspaceId, id)),
    db.delete(workspaces).where(eq(workspaces.id, id)),
  ])
}

export async function listMembers(db: Database, workspaceId: string, page: { after: string | null; limit: number }): Promise<MemberRow[]> {
  return db
    .select({ userId: users.id, email: users.email, name: users.name, role: memberships.role, createdAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), page.after ? gt(users.id, page.after) : undefined))
    .orderBy(asc(users.id))
    .limit(page.limit + 1)
    .all()
}

export async function findMember(db: Database, workspaceId: string, userId: string): Promise<MemberRow | undefined> {
  return db
    .select({ userId: users.id, email: users.email, name: users.name, role: memberships.role, createdAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
    .get()
}

export async function findMemberByEmail(db: Database, workspaceId: string, email: string): Promise<MemberRow | undefined> {
  return db
    .select({ userId: users.id, email: users.email, name: users.name, role: memberships.role, createdAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(users.email, email)))
    .get()
}

export async function setMemberRole(db: Database, workspaceId: string, userId: string, role: Role): Promise<void> {
  await db.update(memberships).set({ role }).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
}

export async function removeMember(db: Database, workspaceId: string, userId: string): Promise<void> {
  await db.delete(memberships).where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
}

export async function countOwners(db: Database, workspaceId: string): Promise<number> {
  const row = await db
    .select({ owners: count() })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.role, 'owner')))
    .get()
  return row?.owners ?? 0
}

/** The ids of the workspaces the user belongs to, at most `limit`. */
export async function memberWorkspaceIds(db: Database, userId: string, limit: number): Promise<string[]> {
  const statement = prepared(db, 'memberWorkspaceIds', () =>
    db.select({ id: memberships.workspaceId }).from(memberships).where(eq(memberships.userId, sql.placeholder('userId'))).limit(sql.placeholder('limit')).prepare(),
  )
  return (await statement.all({ userId, limit })).map((row) => row.id)
}

/** The user's personal workspace: looked up by every stateless call billed to it (Chat Completions), so prepared. */
export async function findPersonalWorkspace(db: Database, userId: string): Promise<WorkspaceWithRole | undefined> {
  const statement = prepared(db, 'findPersonalWorkspace', () =>
    db
      .select(workspaceWithRole)
      .from(workspaces)
      .innerJoin(memberships, eq(memberships.workspaceId, workspaces.id))
      .where(and(eq(memberships.userId, sql.placeholder('userId')), eq(workspaces.personal, true), eq(memberships.role, 'owner')))
      .prepare(),
  )
  return statement.get({ userId })
}
