import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { AppError } from '../errors'
import { authenticate } from '../services/authenticate'
import type { AppEnv } from '../types'

const BEARER = /^Bearer\s+(\S+)\s*$/i
const PROTOCOL_TOKEN = /^\s*bearer\s*,\s*([^\s,]+)\s*$/i

/**
 * Browsers cannot set headers on a WebSocket: an upgrade may carry the token as `?token=` or as
 * `Sec-WebSocket-Protocol: bearer, <token>` (the server then answers with the `bearer` protocol).
 */
function webSocketToken(c: Context<AppEnv>): string | undefined {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return undefined
  const fromProtocol = PROTOCOL_TOKEN.exec(c.req.header('sec-websocket-protocol') ?? '')?.[1]
  if (fromProtocol) c.header('Sec-WebSocket-Protocol', 'bearer')
  return fromProtocol ?? c.req.query('token')
}

/** The request's bearer token: the Authorization header or, on a WebSocket upgrade, the protocol or `?token=`. */
export function bearerToken(c: Context<AppEnv>): string | undefined {
  return BEARER.exec(c.req.header('authorization') ?? '')?.[1] ?? webSocketToken(c)
}

/** Resolves `Authorization: Bearer <access JWT | sk_ API key>` into `c.var.auth`. */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c)
  if (!token) {
    throw new AppError('unauthorized', 'Missing bearer token', { headers: { 'WWW-Authenticate': 'Bearer' } })
  }
  c.set('auth', await authenticate(c.var.services, token))
  await next()
})
