import { and, asc, eq, gt, sql } from 'drizzle-orm'
import type { Database } from '../database'
import { invitations, memberships, users, workspaces } from '../schema'

export type InvitationRow = typeof invitations.$inferSelect
/** An invitation with what its invitee needs to decide: the workspace's name and who invited them. */
export type InvitationView = InvitationRow & { workspaceName: string; inviterName: string | null; inviterEmail: string | null }

const view = {
  id: invitations.id,
  workspaceId: invitations.workspaceId,
  email: invitations.email,
  role: invitations.role,
  invitedBy: invitations.invitedBy,
  createdAt: invitations.createdAt,
  expiresAt: invitations.expiresAt,
  workspaceName: workspaces.name,
  inviterName: users.name,
  inviterEmail: users.email,
}

function selectViews(db: Database) {
  return db
    .select(view)
    .from(invitations)
    .innerJoin(workspaces, eq(workspaces.id, invitations.workspaceId))
    .leftJoin(users, eq(users.id, invitations.invitedBy))
}

/**
 * One pending invitation per (workspace, email): inviting the same email again replaces the role, the inviter
 * and the expiry of the existing row (its id stays).
 */
export async function upsertInvitation(db: Database, row: InvitationRow): Promise<InvitationRow> {
  const [stored] = await db
    .insert(invitations)
    .values(row)
    .onConflictDoUpdate({
      target: [invitations.workspaceId, invitations.email],
      set: { role: row.role, invitedBy: row.invitedBy, createdAt: row.createdAt, expiresAt: row.expiresAt },
    })
    .returning()
  return stored!
}

export async function findInvitation(db: Database, id: string): Promise<InvitationView | undefined> {
  return selectViews(db).where(eq(invitations.id, id)).get()
}

export async function findInvitationByEmail(db: Database, workspaceId: string, email: string): Promise<InvitationRow | undefined> {
  return db
    .select()
    .from(invitations)
    .where(and(eq(invitations.workspaceId, workspaceId), eq(invitations.email, email)))
    .get()
}

export async function listWorkspaceInvitations(
  db: Database,
  workspaceId: string,
  page: { after: string | null; limit: number; now: Date },
): Promise<InvitationView[]> {
  return selectViews(db)
    .where(
      and(
        eq(invitations.workspaceId, workspaceId),
        gt(invitations.expiresAt, page.now),
        page.after ? gt(invitations.id, page.after) : undefined,
      ),
    )
    .orderBy(asc(invitations.id))
    .limit(page.limit + 1)
    .all()
}

export async function listInvitationsForEmail(
  db: Database,
  email: string,
  page: { after: string | null; limit: number; now: Date; only: string | null },
): Promise<InvitationView[]> {
  return selectViews(db)
    .where(
      and(
        eq(invitations.email, email),
        gt(invitations.expiresAt, page.now),
        page.only ? eq(invitations.workspaceId, page.only) : undefined,
        page.after ? gt(invitations.id, page.after) : undefined,
      ),
    )
    .orderBy(asc(invitations.id))
    .limit(page.limit + 1)
    .all()
}

export async function deleteInvitation(db: Database, id: string): Promise<boolean> {
  const rows = await db.delete(invitations).where(eq(invitations.id, id)).returning({ id: invitations.id })
  return rows.length === 1
}

/**
 * The invitee joins with the invitation's role and the invitation is consumed, in one batch. The insert takes
 * the row only while it still exists, so an invitation revoked meanwhile adds nobody.
 */
export async function acceptInvitation(db: Database, invitation: InvitationRow, userId: string, now: Date): Promise<boolean> {
  const [, deleted] = await db.batch([
    db
      .insert(memberships)
      .select(
        db
          .select({
            workspaceId: invitations.workspaceId,
            userId: sql<string>`${userId}`.as('user_id'),
            role: invitations.role,
            createdAt: sql<Date>`${now.getTime()}`.as('created_at'),
          })
          .from(invitations)
          .where(eq(invitations.id, invitation.id)),
      )
      .onConflictDoNothing(),
    db.delete(invitations).where(eq(invitations.id, invitation.id)).returning({ id: invitations.id }),
  ])
  return deleted.length === 1
}
