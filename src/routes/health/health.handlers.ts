import { sql } from 'drizzle-orm'
import { AppError, problemResponse } from '../../errors'
import { usesBedrockEmulator, type Config } from '../../config'
import type { AppRouteHandler, Services } from '../../types'
import type * as routes from './health.routes'

type Check = { status: 'ok' | 'error'; latencyMs?: number; message?: string }

/** Runs one probe; the failure's details go to the log, never into the response. */
async function timed(services: Services, name: string, probe: () => Promise<string | void>): Promise<Check> {
  const started = performance.now()
  try {
    const message = await probe()
    return { status: 'ok', latencyMs: Math.round((performance.now() - started) * 10) / 10, ...(message ? { message } : {}) }
  } catch (error) {
    services.logger.warn('readiness check failed', { check: name, error: String(error) })
    return { status: 'error', message: `${name} is unavailable` }
  }
}

/** Which Bedrock answers (parseConfig already refused a configuration with no way to reach one). */
function bedrockConfiguration(config: Config): string {
  if (usesBedrockEmulator(config)) return 'built-in emulator (synthetic answers)'
  return `${config.BEDROCK_ENDPOINT ?? config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ?? 'Amazon Bedrock'} in ${config.AWS_REGION}`
}

function readinessChecks(services: Services): Record<string, () => Promise<string | void>> {
  return {
    database: async () => {
      await services.db.run(sql`select 1`)
    },
    streamState: () => services.hub.ping(),
    bedrock: async () => bedrockConfiguration(services.config),
  }
}

export const health: AppRouteHandler<typeof routes.health> = (c) => c.json({ status: 'ok' as const }, 200)

export const ready: AppRouteHandler<typeof routes.ready> = async (c) => {
  const services = c.var.services
  const entries = Object.entries(readinessChecks(services))
  const results = await Promise.all(entries.map(async ([name, probe]) => [name, await timed(services, name, probe)] as const))
  const checks = Object.fromEntries(results)
  const failing = results.filter(([, check]) => check.status !== 'ok').map(([name]) => name)
  if (failing.length === 0) return c.json({ status: 'ok' as const, checks }, 200)
  return problemResponse(c, new AppError('not_ready', `Not ready: ${failing.join(', ')}`, { members: { checks } })) as never
}

export const metrics: AppRouteHandler<typeof routes.metrics> = (c) => {
  const { config, metrics } = c.var.services
  if (config.METRICS_TOKEN && c.req.header('authorization') !== `Bearer ${config.METRICS_TOKEN}`) {
    throw new AppError('unauthorized', 'Metrics need the METRICS_TOKEN bearer token', { headers: { 'WWW-Authenticate': 'Bearer' } })
  }
  return c.body(metrics.render(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }) as never
}
