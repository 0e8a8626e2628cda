import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../types'

/** One structured line per request (method, route, status, duration, request id) and the request metrics. */
export const requestLogger = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now()
  await next()
  const status = c.res.status
  const seconds = (performance.now() - started) / 1000
  const { logger, metrics } = c.var.services
  const route = c.req.routePath
  metrics.requests.inc({ method: c.req.method, route, status: String(status) })
  metrics.requestDuration.observe({ method: c.req.method, route }, seconds)
  logger[status >= 500 ? 'error' : 'info']('request', {
    requestId: c.var.requestId,
    method: c.req.method,
    route,
    path: c.req.path,
    status,
    durationMs: Math.round(seconds * 10_000) / 10,
  })
})
