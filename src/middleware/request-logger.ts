import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../types'

/** One structured line per request: method, route, status, duration, request id. */
export const requestLogger = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now()
  await next()
  const status = c.res.status
  const level = status >= 500 ? 'error' : 'info'
  c.var.services.logger[level]('request', {
    requestId: c.var.requestId,
    method: c.req.method,
    route: c.req.routePath,
    path: c.req.path,
    status,
    durationMs: Math.round((performance.now() - started) * 10) / 10,
  })
})
