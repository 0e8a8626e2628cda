import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { EmailSchema, TokenPairSchema, UserSchema, WorkspaceSchema, jsonBody, jsonContent } from '../../schemas'

const tags = ['Auth']
const RefreshBody = z.object({ refreshToken: z.string().min(1).max(512) })

export const register = createRoute({
  method: 'post',
  path: '/v1/auth/register',
  tags,
  summary: 'Create an account and its personal workspace',
  request: jsonBody(
    z.object({
      email: EmailSchema,
      password: z.string().min(8).max(1024),
      name: z.string().trim().min(1).max(200).optional(),
    }),
  ),
  responses: {
    201: jsonContent(
      TokenPairSchema.extend({ user: UserSchema, workspace: WorkspaceSchema }).openapi('Registration'),
      'Account created',
    ),
    ...errorResponses(400, 403, 409, 413, 415),
  },
})

export const login = createRoute({
  method: 'post',
  path: '/v1/auth/login',
  tags,
  summary: 'Exchange email and password for tokens',
  request: jsonBody(z.object({ email: EmailSchema, password: z.string().min(1).max(1024) })),
  responses: { 200: jsonContent(TokenPairSchema, 'Signed in'), ...errorResponses(400, 401, 413, 415) },
})

export const refresh = createRoute({
  method: 'post',
  path: '/v1/auth/refresh',
  tags,
  summary: 'Rotate a refresh token for a new token pair',
  description: 'Refresh tokens are single-use. Presenting one that was already rotated revokes its whole family.',
  request: jsonBody(RefreshBody),
  responses: { 200: jsonContent(TokenPairSchema, 'New token pair'), ...errorResponses(400, 401, 413, 415) },
})

export const logout = createRoute({
  method: 'post',
  path: '/v1/auth/logout',
  tags,
  summary: 'Revoke a refresh token and its family',
  request: jsonBody(RefreshBody),
  responses: { 204: { description: 'Signed out' }, ...errorResponses(400, 413, 415) },
})
