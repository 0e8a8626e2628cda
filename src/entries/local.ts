/** Wiring shared by the Node and Bun entries: libsql (file, :memory: or Turso), migrations at start-up. */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient, type Client } from '@libsql/client'
import { eq } from 'drizzle-orm'
import { migrate } from 'drizzle-orm/libsql/migrator'
import type { UpgradeWebSocket } from 'hono/ws'
import { createApp } from '../app'
import { ConfigError, parseConfig, type Config } from '../config'
import type { Database } from '../db/database'
import { libsqlDatabase } from '../db/libsql'
import { LibsqlFileClient } from './libsql-file-client'
import { sweepOrphanedGenerations } from '../db/repositories/generations'
import { generations } from '../db/schema'
import type { GenerationHub, TaskRunner } from '../stream/hub'
import { createMemoryHub } from '../stream/memory-hub'
import { createUpstashRedis } from '../stream/redis-commands'
import { createRedisHub } from '../stream/redis-hub'
import { EMULATOR_BANNER, modelClientFromConfig } from '../bedrock/model-client'
import { randomSecret } from '../lib/crypto'
import { createLogger, type Logger } from '../lib/logger'

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url))

/** The path of a local SQLite file URL, or null for :memory: and remote URLs. */
function localFile(url: string): string | null {
  if (!url.startsWith('file:')) return null
  return resolve(url.slice('file:'.length).replace(/^\/\/(?=\/)/, ''))
}

export async function openDatabase(config: Config): Promise<Client> {
  const inMemory = config.DATABASE_URL === ':memory:' || config.DATABASE_URL === 'file::memory:'
  const file = inMemory ? null : localFile(config.DATABASE_URL)
  if (file) mkdirSync(dirname(file), { recursive: true })
  const client =
    file || inMemory
      ? new LibsqlFileClient(file ?? ':memory:')
      : createClient({ url: config.DATABASE_URL, authToken: config.DATABASE_AUTH_TOKEN })
  if (file) {
    await client.execute('PRAGMA journal_mode = WAL')
    // In WAL mode NORMAL stays consistent after a crash and skips an fsync per commit (libsql calls block the loop).
    await client.execute('PRAGMA synchronous = NORMAL')
    await client.execute('PRAGMA busy_timeout = 5000')
  }
  await client.execute('PRAGMA foreign_keys = ON')
  const db = libsqlDatabase(client)
  // Processes starting together on a new database race to migrate it: the losers' statements fail on what the
  // winner created, and once it has committed there is nothing left for them to apply.
  await migrate(db, { migrationsFolder: MIGRATIONS }).catch(() => migrate(db, { migrationsFolder: MIGRATIONS }))
  return client
}

/**
 * In development a missing JWT_SECRET is generated once and kept beside the database file, so tokens survive
 * restarts. (Production refuses to start without one: see parseConfig.)
 */
function developmentSecret(config: Config, logger: Logger): string {
  const file = localFile(config.DATABASE_URL)
  const secretFile = file ? join(dirname(file), 'jwt-secret') : null
  if (secretFile && existsSync(secretFile)) {
    const stored = readFileSync(secretFile, 'utf8').trim()
    if (stored.length >= 32) return stored
  }
  const secret = randomSecret(48)
  if (secretFile) writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 })
  logger.warn('JWT_SECRET is not set: using a generated development secret. Set JWT_SECRET in production.', {
    storedAt: secretFile ?? '(memory only; tokens die with the process)',
  })
  return secret
}

/**
 * Where stream state lives on Node and Bun: STREAM_STATE wins; unset, Redis when the Upstash variables are set,
 * else memory (one process). Durable Objects exist only on Workers.
 */
export function streamStateMode(config: Config): 'memory' | 'redis' {
  if (config.STREAM_STATE === 'durable-object') {
    throw new ConfigError(
      'Invalid configuration:\n  STREAM_STATE: durable-object needs Cloudflare Workers; on Node and Bun use redis (several processes) or memory',
    )
  }
  if (config.STREAM_STATE) return config.STREAM_STATE
  return config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN ? 'redis' : 'memory'
}

/**
 * With Redis, other processes may be running generations right now: finalize only those Redis says ended
 * (a dead owner's are marked failed by `status` itself) or never knew (and are too old to be on their way).
 */
async function sweepInterruptedGenerations(db: Database, hub: GenerationHub, logger: Logger): Promise<void> {
  const running = await db.select({ id: generations.id, startedAt: generations.startedAt }).from(generations).where(eq(generations.status, 'running')).all()
  const interrupted: string[] = []
  try {
    for (const { id, startedAt } of running) {
      const status = await hub.status(id)
      if (status ? status.state !== 'running' : await hub.isOrphaned(id, startedAt)) interrupted.push(id)
    }
  } catch (error) {
    logger.warn('could not check running generations against the stream state; they are finalized on read later', { error: String(error) })
  }
  if (interrupted.length === 0) return
  const swept = await sweepOrphanedGenerations(db, new Date(), interrupted)
  if (swept > 0) logger.warn('finalized generations whose server stopped', { count: swept, stillRunningElsewhere: running.length - interrupted.length })
}

/** `upgradeWebSocket` is the runtime's adapter (@hono/node-server or hono/bun), for /v1/conversations/{id}/ws. */
export async function createLocalServer(env: Record<string, string | undefined>, upgradeWebSocket?: UpgradeWebSocket) {
  const config = parseConfig(env)
  const logger = createLogger(config.LOG_LEVEL)
  const streamState = streamStateMode(config)
  const client = await openDatabase(config)
  const db = libsqlDatabase(client)
  if (streamState === 'memory') {
    // One process owns every generation here, so any still `running` was cut off by a crash or restart.
    const swept = await sweepOrphanedGenerations(db, new Date())
    if (swept > 0) logger.warn('finalized generations interrupted by a restart', { count: swept })
  }
  const jwtSecret = config.JWT_SECRET ?? developmentSecret(config, logger)
  const { models, source } = modelClientFromConfig(config)
  if (source === 'emulator') console.warn(EMULATOR_BANNER)
  const retentionMs = config.STREAM_RETENTION_SECONDS * 1000
  const built: { hub?: GenerationHub } = {}
  const buildHub = (run: TaskRunner): GenerationHub =>
    (built.hub =
      streamState === 'redis'
        ? createRedisHub({
            redis: createUpstashRedis({ url: config.UPSTASH_REDIS_REST_URL!, token: config.UPSTASH_REDIS_REST_TOKEN! }),
            run,
            retentionMs,
            staleMs: config.STREAM_STALE_SECONDS * 1000,
            onWarning: (message, details) => logger.warn(message, details),
          })
        : createMemoryHub({ run, retentionMs }))
  const app = createApp({ config: { ...config, JWT_SECRET: jwtSecret }, db, logger, models, hub: buildHub, upgradeWebSocket })
  if (streamState === 'redis' && built.hub) await sweepInterruptedGenerations(db, built.hub, logger)
  return { app, config, logger, modelSource: source, streamState, close: () => client.close() }
}
