import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { RoleSchema, UserSchema, jsonContent, security } from '../../schemas'

export const me = createRoute({
  method: 'get',
  path: '/v1/me',
  tags: ['Auth'],
  summary: 'The caller and the workspaces they belong to',
  security,
  responses: {
    200: jsonContent(
      z.object({ user: UserSchema, workspaces: z.array(z.object({ id: z.string(), name: z.string(), role: RoleSchema })) }).openapi('Me'),
      'The caller',
    ),
    ...errorResponses(401),
  },
})
