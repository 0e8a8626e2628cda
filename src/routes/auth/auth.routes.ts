import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { storedName } from '../../lib/text'
import { loginThrottle, registrationThrottle } from '../../middleware/auth-throttle'
import { access } from '../../middleware/scopes'
import { EmailSchema, TokenPairSchema, UserSchema, WorkspaceSchema, jsonBody, jsonContent } from '../../schemas'

const tags = ['Auth']
const RefreshBody = z.object({ refreshToken: z.string().min(1).max(512) })

export const register = createRoute({
  method: 'post',
  path: '/v1/auth/register',
  tags,
  summary: 'Create an account and its personal workspace',
  description: 'Throttled per client address and per email: 429 `rate_limited` with Retry-After.',
  middleware: [registrationThrottle],
  request: jsonBody(
    z.object({
      email: EmailSchema,
      password: z.string().min(8).max(1024),
      name: storedName(200).optional(),
    }),
  ),
  responses: {
    201: jsonContent(
      TokenPairSchema.extend({ user: UserSchema, workspace: WorkspaceSchema }).openapi('Registration'),
      'Account created',
    ),
    ...errorResponses(400, 403, 409, 413, 415, 429),
  },
})

export const login = createRoute({
  method: 'post',
  path: '/v1/auth/login',
  tags,
  summary: 'Exchange email and password for tokens',
  description: 'Failed attempts are throttled per email and per client address: 429 `rate_limited` with Retry-After.',
  middleware: [loginThrottle],
  request: jsonBody(z.object({ email: EmailSchema, password: z.string().min(1).max(1024) })),
  responses: { 200: jsonContent(TokenPairSchema, 'Signed in'), ...errorResponses(400, 401, 413, 415, 429) },
})

export const refresh = createRoute({
  method: 'post',
  path: '/v1/auth/refresh',
  tags,
  summary: 'Rotate a refresh token for a new token pair',
  description:
    'Refresh tokens rotate. A rotated token presented again within REFRESH_REUSE_GRACE_SECONDS (default 10) of its rotation returns the same new pair (parallel tabs, retries); after that, presenting it revokes its whole family.',
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

export const logoutAll = createRoute({
  method: 'post',
  path: '/v1/auth/logout-all',
  tags,
  summary: "End every session of the caller: all refresh tokens are revoked and every access token this server issued stops working (external OIDC tokens are the issuer's)",
  description: 'Needs a user token (JWT), not an API key. API keys are not affected: revoke them with DELETE /v1/api-keys/{id}.',
  ...access('user', 'Signing out needs a user token, not an API key'),
  responses: { 204: { description: 'Every session ended' }, ...errorResponses(401, 403) },
})
