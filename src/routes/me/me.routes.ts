import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { PageQuerySchema, listOf } from '../../lib/pagination'
import { access } from '../../middleware/scopes'
import { RoleSchema, UserSchema, WorkspaceSchema, jsonBody, jsonContent, pathId } from '../../schemas'
import { InvitationSchema } from '../workspaces/invitation-shape'

export const me = createRoute({
  method: 'get',
  path: '/v1/me',
  tags: ['Auth'],
  summary: 'The caller and the workspaces they belong to',
  ...access('read'),
  responses: {
    200: jsonContent(
      z.object({ user: UserSchema, workspaces: z.array(z.object({ id: z.string(), name: z.string(), role: RoleSchema })) }).openapi('Me'),
      'The caller',
    ),
    ...errorResponses(401),
  },
})

export const changePassword = createRoute({
  method: 'post',
  path: '/v1/me/password',
  tags: ['Auth'],
  summary: "Change the caller's password; every session of the caller ends, this one included",
  description:
    'Needs a user token (JWT), not an API key. On success every refresh token and access token of the user stops working, the one used for this call included: sign in again with the new password. A wrong current password is a 400 naming `currentPassword`.',
  ...access('user', 'Changing the password needs a user token, not an API key'),
  request: jsonBody(z.object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().min(8).max(1024) })),
  responses: { 204: { description: 'Password changed; every session ended' }, ...errorResponses(400, 401, 403, 413, 415) },
})

const InvitationParams = z.object({ invitationId: pathId('inv_01J...') })

export const myInvitations = createRoute({
  method: 'get',
  path: '/v1/me/invitations',
  tags: ['Workspaces'],
  summary: "Pending invitations addressed to the caller's email",
  ...access('read'),
  request: { query: PageQuerySchema },
  responses: { 200: jsonContent(listOf(InvitationSchema), 'Pending invitations'), ...errorResponses(400, 401) },
})

export const acceptInvitation = createRoute({
  method: 'post',
  path: '/v1/me/invitations/{invitationId}/accept',
  tags: ['Workspaces'],
  summary: "Accept an invitation: the caller joins the workspace with the invitation's role",
  description:
    'An invitation addressed to another email, revoked, declined, accepted already or expired is 404. ' +
    '409 if the caller is a member already (the invitation is then deleted).',
  ...access('admin'),
  request: { params: InvitationParams },
  responses: { 200: jsonContent(WorkspaceSchema, 'The workspace joined'), ...errorResponses(401, 403, 404, 409) },
})

export const declineInvitation = createRoute({
  method: 'post',
  path: '/v1/me/invitations/{invitationId}/decline',
  tags: ['Workspaces'],
  summary: 'Decline an invitation; it is deleted',
  ...access('admin'),
  request: { params: InvitationParams },
  responses: { 204: { description: 'Declined' }, ...errorResponses(401, 403, 404) },
})
