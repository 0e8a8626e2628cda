/** Wiring shared by the Node and Bun entries: libsql (file, :memory: or Turso), migrations at start-up. */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient, type Client } from '@libsql/client'
import { migrate } from 'drizzle-orm/libsql/migrator'
import { createApp } from '../app'
import { parseConfig, type Config } from '../config'
import { libsqlDatabase } from '../db/libsql'
import { sweepOrphanedGenerations } from '../db/repositories/generations'
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
  const file = localFile(config.DATABASE_URL)
  if (file) mkdirSync(dirname(file), { recursive: true })
  const client = createClient({ url: config.DATABASE_URL, authToken: config.DATABASE_AUTH_TOKEN })
  if (file) {
    await client.execute('PRAGMA journal_mode = WAL')
    await client.execute('PRAGMA busy_timeout = 5000')
  }
  await client.execute('PRAGMA foreign_keys = ON')
  await migrate(libsqlDatabase(client), { migrationsFolder: MIGRATIONS })
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

export async function createLocalServer(env: Record<string, string | undefined>) {
  const config = parseConfig(env)
  const logger = createLogger(config.LOG_LEVEL)
  const client = await openDatabase(config)
  const db = libsqlDatabase(client)
  // One process owns every generation here, so any still `running` was cut off by a crash or restart.
  const swept = await sweepOrphanedGenerations(db, new Date())
  if (swept > 0) logger.warn('finalized generations interrupted by a restart', { count: swept })
  const jwtSecret = config.JWT_SECRET ?? developmentSecret(config, logger)
  const { models, source } = modelClientFromConfig(config)
  if (source === 'emulator') console.warn(EMULATOR_BANNER)
  const app = createApp({ config: { ...config, JWT_SECRET: jwtSecret }, db, logger, models })
  return { app, config, logger, modelSource: source, close: () => client.close() }
}
