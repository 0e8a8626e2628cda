import { sql } from 'drizzle-orm'
import type { Context } from 'hono'
import { AppError, problemResponse } from '../../errors'
import { awsCredentialSource, usesBedrockEmulator, type Config } from '../../config'
import { sha256Hex, timingSafeEqualText } from '../../lib/crypto'
import type { AppEnv, AppRouteHandler, Services } from '../../types'
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

const ROLE_CREDENTIALS = {
  'web-identity': 'web identity (STS AssumeRoleWithWebIdentity)',
  container: 'the container credentials endpoint',
  'instance-metadata': 'EC2 instance metadata',
} as const

/** Which Bedrock answers, and which role signs for it (parseConfig already refused a configuration with no way to reach one). */
function bedrockConfiguration(config: Config): string {
  if (usesBedrockEmulator(config)) return 'built-in emulator (synthetic answers)'
  const target = `${config.BEDROCK_ENDPOINT ?? config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ?? 'Amazon Bedrock'} in ${config.AWS_REGION}`
  const source = awsCredentialSource(config)
  return source && source in ROLE_CREDENTIALS ? `${target}, credentials from ${ROLE_CREDENTIALS[source as keyof typeof ROLE_CREDENTIALS]}` : target
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

/**
 * Who may read /metrics and the details of /ready: with METRICS_TOKEN set, whoever sends it as a bearer token
 * (compared in constant time, through SHA-256 so the length is hidden too); without it, everybody outside
 * production and nobody in production.
 */
async function operatorAccess(c: Context<AppEnv>): Promise<'granted' | 'wrong-token' | 'off'> {
  const { METRICS_TOKEN, NODE_ENV } = c.var.services.config
  if (!METRICS_TOKEN) return NODE_ENV === 'production' ? 'off' : 'granted'
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? ''
  return timingSafeEqualText(await sha256Hex(presented), await sha256Hex(METRICS_TOKEN)) ? 'granted' : 'wrong-token'
}

/** Anonymous callers learn ready or not ready; the checks (which database, hub and Bedrock) need operator access. */
export const ready: AppRouteHandler<typeof routes.ready> = async (c) => {
  const services = c.var.services
  const entries = Object.entries(readinessChecks(services))
  const results = await Promise.all(entries.map(async ([name, probe]) => [name, await timed(services, name, probe)] as const))
  const checks = Object.fromEntries(results)
  const failing = results.filter(([, check]) => check.status !== 'ok').map(([name]) => name)
  const detailed = (await operatorAccess(c)) === 'granted'
  if (failing.length === 0) return c.json(detailed ? { status: 'ok' as const, checks } : { status: 'ok' as const }, 200)
  const problem = detailed
    ? new AppError('not_ready', `Not ready: ${failing.join(', ')}`, { members: { checks } })
    : new AppError('not_ready', 'Not ready')
  return problemResponse(c, problem) as never
}

export const metrics: AppRouteHandler<typeof routes.metrics> = async (c) => {
  const access = await operatorAccess(c)
  if (access === 'off') throw new AppError('not_found', 'Metrics are not served: set METRICS_TOKEN to read them in production')
  if (access === 'wrong-token') {
    throw new AppError('unauthorized', 'Metrics need the METRICS_TOKEN bearer token', { headers: { 'WWW-Authenticate': 'Bearer' } })
  }
  return c.body(c.var.services.metrics.render(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }) as never
}
