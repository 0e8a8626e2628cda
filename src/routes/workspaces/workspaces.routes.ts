import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { PageQuerySchema, listOf } from '../../lib/pagination'
import { EmailSchema, RoleSchema, WorkspaceSchema, jsonBody, jsonContent, pathId, security } from '../../schemas'

const tags = ['Workspaces']
const WorkspaceParams = z.object({ id: pathId('ws_01J...') })
const MemberParams = z.object({ id: pathId('ws_01J...'), userId: pathId('usr_01J...') })
const WorkspaceName = z.string().trim().min(1).max(200)

export const MemberSchema = z
  .object({ userId: z.string(), email: z.string(), name: z.string().nullable(), role: RoleSchema, createdAt: z.string() })
  .openapi('Member')

export const list = createRoute({
  method: 'get',
  path: '/v1/workspaces',
  tags,
  summary: 'List the workspaces you belong to',
  security,
  request: { query: PageQuerySchema },
  responses: { 200: jsonContent(listOf(WorkspaceSchema), 'Workspaces'), ...errorResponses(400, 401) },
})

export const create = createRoute({
  method: 'post',
  path: '/v1/workspaces',
  tags,
  summary: 'Create a workspace; you become its owner',
  security,
  request: jsonBody(z.object({ name: WorkspaceName })),
  responses: { 201: jsonContent(WorkspaceSchema, 'Created'), ...errorResponses(400, 401, 403, 413, 415) },
})

export const get = createRoute({
  method: 'get',
  path: '/v1/workspaces/{id}',
  tags,
  summary: 'Get a workspace',
  security,
  request: { params: WorkspaceParams },
  responses: { 200: jsonContent(WorkspaceSchema, 'The workspace'), ...errorResponses(401, 404) },
})

export const update = createRoute({
  method: 'patch',
  path: '/v1/workspaces/{id}',
  tags,
  summary: 'Rename a workspace (admin or owner)',
  security,
  request: { params: WorkspaceParams, ...jsonBody(z.object({ name: WorkspaceName })) },
  responses: { 200: jsonContent(WorkspaceSchema, 'Updated'), ...errorResponses(400, 401, 403, 404, 413, 415) },
})

export const remove = createRoute({
  method: 'delete',
  path: '/v1/workspaces/{id}',
  tags,
  summary: 'Delete a workspace and everything in it (owner)',
  description: 'A personal workspace cannot be deleted (409).',
  security,
  request: { params: WorkspaceParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 409) },
})

export const listMembers = createRoute({
  method: 'get',
  path: '/v1/workspaces/{id}/members',
  tags,
  summary: 'List members',
  security,
  request: { params: WorkspaceParams, query: PageQuerySchema },
  responses: { 200: jsonContent(listOf(MemberSchema), 'Members'), ...errorResponses(400, 401, 404) },
})

export const addMember = createRoute({
  method: 'post',
  path: '/v1/workspaces/{id}/members',
  tags,
  summary: 'Add a registered user by email (admin or owner; only owners add owners)',
  security,
  request: { params: WorkspaceParams, ...jsonBody(z.object({ email: EmailSchema, role: RoleSchema.default('member') })) },
  responses: { 201: jsonContent(MemberSchema, 'Added'), ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
})

export const updateMember = createRoute({
  method: 'patch',
  path: '/v1/workspaces/{id}/members/{userId}',
  tags,
  summary: "Change a member's role (admin or owner; only owners grant or change owner)",
  security,
  request: { params: MemberParams, ...jsonBody(z.object({ role: RoleSchema })) },
  responses: { 200: jsonContent(MemberSchema, 'Updated'), ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
})

export const removeMember = createRoute({
  method: 'delete',
  path: '/v1/workspaces/{id}/members/{userId}',
  tags,
  summary: 'Remove a member, or leave (the last owner cannot leave)',
  security,
  request: { params: MemberParams },
  responses: { 204: { description: 'Removed' }, ...errorResponses(401, 403, 404, 409) },
})
