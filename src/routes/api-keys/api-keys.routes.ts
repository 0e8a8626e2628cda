import { createRoute, z } from '@hono/zod-openapi'
import { scopes } from '../../db/schema'
import { errorResponses } from '../../errors'
import { PageQuerySchema, listOf } from '../../lib/pagination'
import { storedName } from '../../lib/text'
import { access } from '../../middleware/scopes'
import { jsonBody, jsonContent, pathId } from '../../schemas'

const tags = ['API keys']
const userToken = access('user', 'API keys cannot manage API keys; use a user token')

export const ScopeSchema = z.enum(scopes).openapi('Scope', {
  description: '`read`: every GET; `chat`: conversations, turns, feedback, cancel, the WebSocket; `admin`: workspaces, members, invitations',
})

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'The first characters of the key, to recognise it' }),
    workspaceId: z.string().nullable().openapi({ description: 'When set, the key only reaches this workspace' }),
    scopes: z.array(ScopeSchema),
    expiresAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('ApiKey')

export const create = createRoute({
  method: 'post',
  path: '/v1/api-keys',
  tags,
  summary: 'Create an API key (the secret is shown once); needs a user token, not an API key',
  ...userToken,
  request: jsonBody(
    z.object({
      name: storedName(100),
      workspaceId: z.string().min(1).max(100).optional(),
      expiresAt: z.iso.datetime({ offset: true }).optional(),
      scopes: z
        .array(ScopeSchema)
        .min(1)
        .max(scopes.length)
        .refine((list) => new Set(list).size === list.length, 'Must not repeat a scope')
        .optional()
        .openapi({ description: 'Defaults to all three' }),
    }),
  ),
  responses: {
    201: jsonContent(ApiKeySchema.extend({ key: z.string().openapi({ example: 'sk_...' }) }).openapi('CreatedApiKey'), 'Created'),
    ...errorResponses(400, 401, 403, 404, 413, 415),
  },
})

export const list = createRoute({
  method: 'get',
  path: '/v1/api-keys',
  tags,
  summary: 'List your API keys (no secrets); needs a user token',
  ...userToken,
  request: { query: PageQuerySchema },
  responses: { 200: jsonContent(listOf(ApiKeySchema), 'API keys'), ...errorResponses(400, 401, 403) },
})

export const remove = createRoute({
  method: 'delete',
  path: '/v1/api-keys/{id}',
  tags,
  summary: 'Revoke an API key; it stops working at once. Needs a user token',
  ...userToken,
  request: { params: z.object({ id: pathId('key_01J...') }) },
  responses: { 204: { description: 'Revoked' }, ...errorResponses(401, 403, 404) },
})
