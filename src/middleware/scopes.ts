import { createMiddleware } from 'hono/factory'
import type { Scope } from '../db/schema'
import { AppError } from '../errors'
import type { AppEnv } from '../types'

/** What an operation needs: one API-key scope, or `user`: a user's own token (JWT or OIDC), never an API key. */
export type Access = Scope | 'user'

const requireUserToken = (refusal: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (c.var.auth.apiKeyId) throw new AppError('forbidden', refusal)
    await next()
  })

const requireScope = (scope: Scope) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!c.var.auth.scopes.includes(scope)) throw new AppError('forbidden', `This API key lacks the ${scope} scope`)
    await next()
  })

/**
 * Spread into every protected route contract: it documents what the operation needs (`bearerAuth` with the
 * scope, or the `userToken` scheme) and enforces it, before the request is validated.
 */
export function access(needs: Access, refusal = 'This needs a user token (JWT or OIDC), not an API key') {
  return needs === 'user'
    ? { security: [{ userToken: [] }], middleware: [requireUserToken(refusal)] }
    : { security: [{ bearerAuth: [needs] }], middleware: [requireScope(needs)] }
}
