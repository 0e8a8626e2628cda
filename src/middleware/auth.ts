import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { AppError } from '../errors'
import { authenticate } from '../services/authenticate'
import type { AppEnv } from '../types'

const BEARER = /^Bearer\s+(\S+)\s*$/i
const PROTOCOL_TOKEN = /^\s*bearer\s*,\s*([^\s,]+)\s*$/i

const isUpgrade = (c: Context<AppEnv>) => c.req.header('upgrade')?.toLowerCase() === 'websocket'
const protocolToken = (c: Context<AppEnv>) => PROTOCOL_TOKEN.exec(c.req.header('sec-websocket-protocol') ?? '')?.[1]

/**
 * Browsers cannot set headers on a WebSocket: an upgrade may carry the token as `?token=` or as
 * `Sec-WebSocket-Protocol: bearer, <token>` (the server then answers with the `bearer` protocol: requireAuth).
 */
function webSocketToken(c: Context<AppEnv>): string | undefined {
  if (!isUpgrade(c)) return undefined
  return protocolToken(c) ?? c.req.query('token')
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
  // The upgrade's 101 (workerd's; Node's and Bun's socket servers answer the protocol themselves) is the runtime's
  // own Response, which headers set before the handler never reach.
  if (c.res.status === 101 && isUpgrade(c) && protocolToken(c)) c.res.headers.set('Sec-WebSocket-Protocol', 'bearer')
})
