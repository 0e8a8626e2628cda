import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { errorResponses } from '../../errors'
import { WorkspaceLimitsSchema } from '../../governance/limits'
import { access } from '../../middleware/scopes'
import { jsonBody, jsonContent, pathId } from '../../schemas'
import { workspaceAccess } from '../../services/workspace-access'
import type { AppEnv } from '../../types'

const tags = ['Usage']
const WorkspaceParams = z.object({ id: pathId('ws_01J...') })

const isJsonObject = async (c: Context) => {
  const body: unknown = await c.req.json().catch(() => undefined)
  return typeof body === 'object' && body !== null && !Array.isArray(body)
}

/**
 * Admins and owners only, checked before the body's fields are: another workspace is a 404 whatever limits a body
 * names. A body that is not a JSON object is left to validation (400) like on every route.
 */
const workspaceAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method === 'GET' || (await isJsonObject(c))) await workspaceAccess(c.var.services, c.var.auth, c.req.param('id') ?? '', 'admin')
  await next()
})

const adminAccess = (scope: 'read' | 'admin') => {
  const { security, middleware } = access(scope)
  return { security, middleware: [...middleware, workspaceAdmin] }
}

export const get = createRoute({
  method: 'get',
  path: '/v1/workspaces/{id}/limits',
  tags,
  summary: "A workspace's budgets and rate limits (admin or owner)",
  ...adminAccess('read'),
  request: { params: WorkspaceParams },
  responses: { 200: jsonContent(WorkspaceLimitsSchema, 'The limits (a scope without limits is absent)'), ...errorResponses(401, 403, 404) },
})

export const put = createRoute({
  method: 'put',
  path: '/v1/workspaces/{id}/limits',
  tags,
  summary: "Replace a workspace's budgets and rate limits (admin or owner)",
  description:
    'Checked before every model call: over a budget → 429 `quota_exceeded` with `Retry-After` and `resetAt` (the end of the ' +
    'calendar period, UTC); over a rate or the concurrent generations → 429 `rate_limited`. A turn that starts under budget ' +
    'may finish over it. A scope left out (or null) has no limits.',
  ...adminAccess('admin'),
  request: { params: WorkspaceParams, ...jsonBody(WorkspaceLimitsSchema) },
  responses: { 200: jsonContent(WorkspaceLimitsSchema, 'The limits now in force'), ...errorResponses(400, 401, 403, 404, 413, 415) },
})
