import { createMiddleware } from 'hono/factory'
import { AppError } from '../errors'
import { authenticate } from '../services/authenticate'
import type { AppEnv } from '../types'

const BEARER = /^Bearer\s+(\S+)\s*$/i

/** Resolves `Authorization: Bearer <access JWT | sk_ API key>` into `c.var.auth`. */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = BEARER.exec(c.req.header('authorization') ?? '')?.[1]
  if (!token) {
    throw new AppError('unauthorized', 'Missing bearer token', { headers: { 'WWW-Authenticate': 'Bearer' } })
  }
  c.set('auth', await authenticate(c.var.services, token))
  await next()
})
