/** Wiring shared by the Node and Bun entries: libsql (file, :memory: or Turso), migrations at start-up. */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient, type Client } from '@libsql/client'
import { eq } from 'drizzle-orm'
import { migrate } from 'drizzle-orm/libsql/migrator'
import type { UpgradeWebSocket } from 'hono/ws'
import { createApp } from '../app'
import type { WebSocketOptions } from '../routes/realtime/socket-options'
import { ConfigError, parseConfig, type Config } from '../config'
import type { Database } from '../db/database'
import { libsqlDatabase } from '../db/libsql'
import { LibsqlFileClient } from './libsql-file-client'
import { directoryBlobStore } from './directory-blob-store'
import { sweepOrphanedGenerations } from '../db/repositories/generations'
import { databaseEventArchive, databaseLeases } from '../db/repositories/stream-state'
import { generations } from '../db/schema'
import type { GenerationHub, TaskRunner } from '../stream/hub'
import { createMemoryHub } from '../stream/memory-hub'
import { createUpstashRedis } from '../stream/redis-commands'
import { createMemoryCounters } from '../governance/memory-counters'
import { createRedisCounters } from '../governance/redis-counters'
import type { ClientAddress } from '../types'
import { createRedisHub } from '../stream/redis-hub'
import { awsCredentialChain } from '../bedrock/aws-credentials'
import { createBedrockEmulator } from '../bedrock/emulator'
import { EMULATOR_BANNER, modelClientFromConfig } from '../bedrock/model-client'
import { randomSecret } from '../lib/crypto'
import { createLogger, type Logger } from '../lib/logger'
import { directoryAssets } from './assets-directory'
import { NodeCryptoSigner } from './node-crypto-signer'

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url))

/** The path of a local SQLite file URL, or null for :memory: and remote URLs. */
function localFile(url: string): string | null {
  if (!url.startsWith('file:')) return null
  return resolve(url.slice('file:'.length).replace(/^\/\/(?=\/)/, ''))
}

/**
 * The database holds password hashes and every chat: owner-only (0600), created so before SQLite opens it; SQLite
 * gives its -wal and -shm files the database file's mode.
 */
function createPrivateFile(file: string) {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  closeSync(openSync(file, 'a', 0o600))
  chmodSync(file, 0o600)
}

export async function openDatabase(config: Config): Promise<Client> {
  const inMemory = config.DATABASE_URL === ':memory:' || config.DATABASE_URL === 'file::memory:'
  const file = inMemory ? null : localFile(config.DATABASE_URL)
  if (file) createPrivateFile(file)
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
 * Other processes may be running generations right now: finalize only those the hub says ended (with Redis a dead
 * owner's are marked failed by `status` itself) or orphaned (their owner's heartbeat is stale, in the database for
 * the memory hub, in Redis for the Redis hub; never younger than the stale window).
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
  if (swept > 0) logger.warn('finalized generations interrupted by a restart or crash of their server', { count: swept, stillRunningElsewhere: running.length - interrupted.length })
}

/** HOST, or loopback only outside production and every interface in production (a container's port mapping needs it). */
export function listenHost(config: Config): string {
  return config.HOST ?? (config.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1')
}

export function listenUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return `http://${shown}:${port}`
}

/** `upgradeWebSocket` is the runtime's adapter (@hono/node-server or hono/bun), for /v1/conversations/{id}/ws; `webSocket` its send-buffer measure. */
export async function createLocalServer(
  env: Record<string, string | undefined>,
  upgradeWebSocket?: UpgradeWebSocket,
  webSocket?: WebSocketOptions,
  clientAddress?: ClientAddress,
  /** The entry's fetch for Bedrock (the runtime's own `fetch` by default). */
  bedrockFetch?: typeof fetch,
) {
  const config = parseConfig(env)
  const logger = createLogger(config.LOG_LEVEL)
  const streamState = streamStateMode(config)
  const client = await openDatabase(config)
  const db = libsqlDatabase(client)
  const jwtSecret = config.JWT_SECRET ?? developmentSecret(config, logger)
  // Token files for role credentials (web identity, container authorization): small, read once per refresh.
  const { models, source } = modelClientFromConfig(config, {
    emulator: createBedrockEmulator,
    signer: NodeCryptoSigner,
    fetch: bedrockFetch,
    credentials: (settings) => awsCredentialChain(settings, { readFile: async (path) => readFileSync(path, 'utf8') }),
  })
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
        : createMemoryHub({
            run,
            retentionMs,
            // Other processes may share this database (a rolling deploy): they own their generations, and finished
            // generations' events wait in the database instead of the heap.
            leases: databaseLeases(db, crypto.randomUUID()),
            staleMs: config.STREAM_STALE_SECONDS * 1000,
            archive: databaseEventArchive(db),
            memoryBytes: config.STREAM_MEMORY_BYTES,
            onWarning: (message, details) => logger.warn(message, details),
          }))
  // Limits' counters live where the stream state does: shared through Redis, or in this process.
  const counters =
    streamState === 'redis'
      ? createRedisCounters(createUpstashRedis({ url: config.UPSTASH_REDIS_REST_URL!, token: config.UPSTASH_REDIS_REST_TOKEN! }))
      : createMemoryCounters()
  const blobs = directoryBlobStore(resolve(config.FILES_DIR))
  const app = createApp({ config: { ...config, JWT_SECRET: jwtSecret }, db, logger, models, hub: buildHub, upgradeWebSocket, webSocket, assets: directoryAssets(), counters, clientAddress, blobs })
  if (built.hub) await sweepInterruptedGenerations(db, built.hub, logger)
  return { app, config, logger, modelSource: source, streamState, close: () => client.close() }
}
