import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { PageQuerySchema, listOf } from '../../lib/pagination'
import { storedName } from '../../lib/text'
import { access } from '../../middleware/scopes'
import { EmailSchema, RoleSchema, WorkspaceSchema, jsonBody, jsonContent, pathId } from '../../schemas'
import { InvitationSchema } from './invitation-shape'

const tags = ['Workspaces']
const WorkspaceParams = z.object({ id: pathId('ws_01J...') })
const MemberParams = z.object({ id: pathId('ws_01J...'), userId: pathId('usr_01J...') })
const InvitationParams = z.object({ id: pathId('ws_01J...'), invitationId: pathId('inv_01J...') })
const WorkspaceName = storedName(200)

export const MemberSchema = z
  .object({ userId: z.string(), email: z.string(), name: z.string().nullable(), role: RoleSchema, createdAt: z.string() })
  .openapi('Member')

export const list = createRoute({
  method: 'get',
  path: '/v1/workspaces',
  tags,
  summary: 'List the workspaces you belong to',
  ...access('read'),
  request: { query: PageQuerySchema },
  responses: { 200: jsonContent(listOf(WorkspaceSchema), 'Workspaces'), ...errorResponses(400, 401) },
})

export const create = createRoute({
  method: 'post',
  path: '/v1/workspaces',
  tags,
  summary: 'Create a workspace; you become its owner',
  ...access('admin'),
  request: jsonBody(z.object({ name: WorkspaceName })),
  responses: { 201: jsonContent(WorkspaceSchema, 'Created'), ...errorResponses(400, 401, 403, 413, 415) },
})

export const get = createRoute({
  method: 'get',
  path: '/v1/workspaces/{id}',
  tags,
  summary: 'Get a workspace',
  ...access('read'),
  request: { params: WorkspaceParams },
  responses: { 200: jsonContent(WorkspaceSchema, 'The workspace'), ...errorResponses(401, 404) },
})

export const update = createRoute({
  method: 'patch',
  path: '/v1/workspaces/{id}',
  tags,
  summary: 'Rename a workspace (admin or owner)',
  ...access('admin'),
  request: { params: WorkspaceParams, ...jsonBody(z.object({ name: WorkspaceName })) },
  responses: { 200: jsonContent(WorkspaceSchema, 'Updated'), ...errorResponses(400, 401, 403, 404, 413, 415) },
})

export const remove = createRoute({
  method: 'delete',
  path: '/v1/workspaces/{id}',
  tags,
  summary: 'Delete a workspace and everything in it (owner)',
  description: 'A personal workspace cannot be deleted (409).',
  ...access('admin'),
  request: { params: WorkspaceParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 409) },
})

export const listMembers = createRoute({
  method: 'get',
  path: '/v1/workspaces/{id}/members',
  tags,
  summary: 'List members',
  ...access('read'),
  request: { params: WorkspaceParams, query: PageQuerySchema },
  responses: { 200: jsonContent(listOf(MemberSchema), 'Members'), ...errorResponses(400, 401, 404) },
})

export const addMember = createRoute({
  method: 'post',
  path: '/v1/workspaces/{id}/members',
  tags,
  summary: 'Invite someone by email (admin or owner; only owners invite owners)',
  description:
    'Creates a pending invitation; the invitee joins only by accepting it (`POST /v1/me/invitations/{invitationId}/accept`). ' +
    'The answer is the same whether or not the email has an account. Invitations expire after 7 days. Inviting an email ' +
    'that has a pending invitation updates it (role, inviter, a new 7-day expiry; the id stays). 409 if the email belongs to a member.',
  ...access('admin'),
  request: { params: WorkspaceParams, ...jsonBody(z.object({ email: EmailSchema, role: RoleSchema.default('member') })) },
  responses: { 202: jsonContent(InvitationSchema, 'Invited'), ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
})

export const updateMember = createRoute({
  method: 'patch',
  path: '/v1/workspaces/{id}/members/{userId}',
  tags,
  summary: "Change a member's role (admin or owner; only owners grant or change owner)",
  ...access('admin'),
  request: { params: MemberParams, ...jsonBody(z.object({ role: RoleSchema })) },
  responses: { 200: jsonContent(MemberSchema, 'Updated'), ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
})

export const removeMember = createRoute({
  method: 'delete',
  path: '/v1/workspaces/{id}/members/{userId}',
  tags,
  summary: 'Remove a member, or leave (the last owner cannot leave)',
  ...access('admin'),
  request: { params: MemberParams },
  responses: { 204: { description: 'Removed' }, ...errorResponses(401, 403, 404, 409) },
})

export const listInvitations = createRoute({
  method: 'get',
  path: '/v1/workspaces/{id}/invitations',
  tags,
  summary: 'Pending invitations (admin or owner)',
  ...access('read'),
  request: { params: WorkspaceParams, query: PageQuerySchema },
  responses: { 200: jsonContent(listOf(InvitationSchema), 'Pending invitations'), ...errorResponses(400, 401, 403, 404) },
})

export const revokeInvitation = createRoute({
  method: 'delete',
  path: '/v1/workspaces/{id}/invitations/{invitationId}',
  tags,
  summary: 'Revoke an invitation (admin or owner; an invitation to the owner role: owner)',
  ...access('admin'),
  request: { params: InvitationParams },
  responses: { 204: { description: 'Revoked' }, ...errorResponses(401, 403, 404) },
})
