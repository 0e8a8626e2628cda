import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { PageQuerySchema, listOf } from '../../lib/pagination'
import { jsonBody, jsonContent, pathId, security } from '../../schemas'

const tags = ['API keys']

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'The first characters of the key, to recognise it' }),
    workspaceId: z.string().nullable().openapi({ description: 'When set, the key only reaches this workspace' }),
    expiresAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('ApiKey')

export const create = createRoute({
  method: 'post',
  path: '/v1/api-keys',
  tags,
  summary: 'Create an API key (the secret is shown once)',
  security,
  request: jsonBody(
    z.object({
      name: z.string().trim().min(1).max(100),
      workspaceId: z.string().min(1).max(100).optional(),
      expiresAt: z.iso.datetime({ offset: true }).optional(),
    }),
  ),
  responses: {
    201: jsonContent(ApiKeySchema.extend({ key: z.string().openapi({ example: 'sk_...' }) }).openapi('CreatedApiKey'), 'Created'),
    ...errorResponses(400, 401, 404, 413, 415),
  },
})

export const list = createRoute({
  method: 'get',
  path: '/v1/api-keys',
  tags,
  summary: 'List your API keys (no secrets)',
  security,
  request: { query: PageQuerySchema },
  responses: { 200: jsonContent(listOf(ApiKeySchema), 'API keys'), ...errorResponses(400, 401) },
})

export const remove = createRoute({
  method: 'delete',
  path: '/v1/api-keys/{id}',
  tags,
  summary: 'Revoke an API key; it stops working at once',
  security,
  request: { params: z.object({ id: pathId('key_01J...') }) },
  responses: { 204: { description: 'Revoked' }, ...errorResponses(401, 404) },
})
