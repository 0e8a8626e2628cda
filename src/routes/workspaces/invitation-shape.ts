import { z } from '@hono/zod-openapi'
import type { InvitationView } from '../../db/repositories/invitations'
import { RoleSchema } from '../../schemas'

export const InvitationSchema = z
  .object({
    id: z.string().openapi({ example: 'inv_01J...' }),
    workspace: z.object({ id: z.string(), name: z.string() }),
    email: z.string().openapi({ description: 'The invitee, in normalized form' }),
    role: RoleSchema,
    invitedBy: z
      .object({ id: z.string(), name: z.string().nullable(), email: z.string() })
      .nullable()
      .openapi({ description: 'Null once the inviting account is deleted' }),
    createdAt: z.string(),
    expiresAt: z.string(),
  })
  .openapi('Invitation')

export function renderInvitation(invitation: InvitationView): z.infer<typeof InvitationSchema> {
  return {
    id: invitation.id,
    workspace: { id: invitation.workspaceId, name: invitation.workspaceName },
    email: invitation.email,
    role: invitation.role,
    invitedBy:
      invitation.invitedBy && invitation.inviterEmail
        ? { id: invitation.invitedBy, name: invitation.inviterName, email: invitation.inviterEmail }
        : null,
    createdAt: invitation.createdAt.toISOString(),
    expiresAt: invitation.expiresAt.toISOString(),
  }
}
