/**
 * Cloudflare Workers entry (module worker). Configuration comes from `env` (vars and secrets carry the same
 * names as the environment variables on Node) and is parsed once per isolate, on the first request.
 *
 * Storage: the D1 binding `DB`, or, without one, Turso/libsql over HTTP when DATABASE_URL is a libsql:// or
 * https:// URL and the Worker was built with EDGECHAT_TURSO (wrangler.toml [define]; a D1 deploy leaves the client out). Migrations are applied out of band (`wrangler d1 migrations apply`), never at request time.
 *
 * Stream state (STREAM_STATE): `durable-object` — the default when the GENERATIONS binding exists — runs every
 * generation in its conversation's Durable Object (GenerationObject, exported here), so it outlives the request
 * that started it and any isolate can follow, resume or cancel it; `memory` keeps generations in the isolate (a
 * generation then lives only as long as the request's waitUntil, and only that isolate can follow it).
 *
 * No Node built-ins and no process.env here: the bundle must run on workerd without `nodejs_compat`.
 */
import { createClient } from '@libsql/client/web'
import { upgradeWebSocket } from 'hono/cloudflare-workers'
import { r2BlobStore } from '../files/r2-blob-store'
import { createApp, type App, type AppDependencies } from '../app'
import { createBedrockEmulator } from '../bedrock/emulator'
import { modelClientFromConfig } from '../bedrock/model-client'
import { ConfigError, parseConfig, type Config } from '../config'
import type { Database } from '../db/database'
import { d1Database } from '../db/d1'
import { findGeneration } from '../db/repositories/generations'
import { libsqlDatabase } from '../db/libsql'
import { randomSecret } from '../lib/crypto'
import { createIdGenerator } from '../lib/ids'
import { createLogger, type Logger } from '../lib/logger'
import { GenerationObjectBase, type ObjectDependencies } from './generation-object'
import { bindingAssets } from './assets-binding'
import { createDurableObjectCounters, type CounterObjectRpc } from '../governance/durable-object-counters'
import { createMemoryCounters } from '../governance/memory-counters'
import { createDurableObjectHub, type GenerationObjectRpc } from '../stream/durable-object-hub'
import { createMemoryHub } from '../stream/memory-hub'

export interface WorkerEnv {
  /** The D1 database (wrangler.toml `[[d1_databases]]` binding "DB"). */
  DB?: D1Database
  /** The generations' Durable Object namespace (wrangler.toml `[[durable_objects.bindings]]` "GENERATIONS"). */
  GENERATIONS?: DurableObjectNamespace<GenerationObjectRpc>
  /** The playground's and the API reference's files (wrangler.toml `[assets]` binding "ASSETS"). */
  ASSETS?: Fetcher
  /** The limits' counters, one Durable Object per limited subject (wrangler.toml binding "COUNTERS"). */
  COUNTERS?: DurableObjectNamespace<CounterObjectRpc>
  /** The file blob store (wrangler.toml `[[r2_buckets]]` binding "FILES"). */
  FILES?: R2Bucket
  /** Vars and secrets: NODE_ENV, JWT_SECRET, DATABASE_URL, … (see src/config.ts). */
  [name: string]: unknown
}

type Isolate = { ok: true; app: App } | { ok: false; error: ConfigError }

const REMOTE_DATABASE_URL = /^(?:libsql|https):\/\//i

/**
 * One app per env object. workerd hands every request of an isolate the same `env`, so in practice this
 * holds a single entry; keying by identity keeps a test that passes its own env from seeing another's app.
 */
const isolates = new WeakMap<object, Isolate>()

/** Generated at most once per isolate when JWT_SECRET is unset outside production; tokens die with the isolate. */
let developmentSecret: string | undefined

function openDatabase(env: WorkerEnv, config: Config, logger: Logger): Database {
  const remote = typeof env.DATABASE_URL === 'string' && REMOTE_DATABASE_URL.test(env.DATABASE_URL)
  if (env.DB) {
    if (remote) logger.warn('both a D1 binding "DB" and a remote DATABASE_URL are configured: using D1')
    return d1Database(env.DB)
  }
  // EDGECHAT_TURSO is a build-time constant (wrangler.toml [define]): the libsql client (~19 KB gzip) and drizzle's
  // libsql driver are only in a Worker built to reach Turso; a deploy on D1 drops this branch and leaves them out.
  if (EDGECHAT_TURSO && remote) return libsqlDatabase(createClient({ url: config.DATABASE_URL, authToken: config.DATABASE_AUTH_TOKEN }))
  if (remote) {
    throw new ConfigError(
      'Invalid configuration:\n  DATABASE_URL: this Worker was built without the Turso client: bind a D1 database "DB", or build with EDGECHAT_TURSO = "true" under [define] in wrangler.toml',
    )
  }
  throw new ConfigError(
    'Invalid configuration:\n  DB: no D1 binding named "DB", and DATABASE_URL is not a libsql:// or https:// URL (Workers cannot open a local SQLite file)',
  )
}

function jwtSecret(config: Config, logger: Logger): string {
  if (config.JWT_SECRET) return config.JWT_SECRET
  // parseConfig already refused production without JWT_SECRET; this is development or test.
  if (!developmentSecret) {
    developmentSecret = randomSecret(48)
    logger.warn('JWT_SECRET is not set: using a secret generated for this isolate. Tokens stop working when the isolate is recycled. Set the JWT_SECRET secret in production.', {
      nodeEnv: config.NODE_ENV,
    })
  }
  return developmentSecret
}

/** What the app and the generation objects are built from: config, database, Bedrock client, logger. */
function dependencies(env: WorkerEnv): ObjectDependencies {
  const config = parseConfig(env)
  const logger = createLogger(config.LOG_LEVEL)
  const db = openDatabase(env, config, logger)
  // EDGECHAT_EMULATOR is a build-time constant (wrangler.toml [define]): false for deploys, so the emulator is not
  // bundled; `npm run dev:worker` and the workerd tests set it true.
  const { models, source } = modelClientFromConfig(config, { emulator: EDGECHAT_EMULATOR ? createBedrockEmulator : undefined })
  if (source === 'emulator') logger.warn('Bedrock emulator: no AWS credentials are configured, so answers are SYNTHETIC')
  // Limits' counters: Durable Objects whenever bound (the app and the generation objects must share them, and an
  // isolate's memory would let every isolate count alone); the isolate's memory only without the binding.
  const counters = env.COUNTERS ? createDurableObjectCounters(env.COUNTERS) : createMemoryCounters()
  const clientAddress = (request: Request) => request.headers.get('cf-connecting-ip')
  // Files need the R2 binding FILES: without it uploads are 503 and inline media stays in message rows.
  const blobs = env.FILES ? r2BlobStore(env.FILES) : null
  return { config: { ...config, JWT_SECRET: jwtSecret(config, logger) }, db, logger, models, counters, clientAddress, blobs }
}

/**
 * STREAM_STATE=durable-object, or unset with the GENERATIONS binding present: the Durable Object hub; otherwise
 * the isolate's memory hub. Redis is not wired on Workers (refused, not ignored).
 */
function streamState(env: WorkerEnv, deps: ObjectDependencies): AppDependencies['hub'] {
  const { config, db } = deps
  const wanted = config.STREAM_STATE ?? (env.GENERATIONS ? 'durable-object' : 'memory')
  if (wanted === 'durable-object') {
    const namespace = env.GENERATIONS
    if (!namespace) throw new ConfigError('Invalid configuration:\n  STREAM_STATE: durable-object needs the Durable Object binding "GENERATIONS" (wrangler.toml)')
    return () =>
      createDurableObjectHub({
        namespace,
        // The turn writes the generation row before starting it: its conversation names the owning object.
        locate: async (generationId) => (await findGeneration(db, generationId))?.conversationId ?? null,
        retentionMs: config.STREAM_RETENTION_SECONDS * 1000,
      })
  }
  if (wanted === 'redis') {
    // Fail closed rather than fall back to one isolate's memory, which other isolates cannot see.
    throw new ConfigError('Invalid configuration:\n  STREAM_STATE: redis is not available on Workers; use durable-object (bind GENERATIONS) or memory')
  }
  // workerd forbids one request from resolving another's promises: followers poll instead of being woken.
  return (run) => createMemoryHub({ run, retentionMs: config.STREAM_RETENTION_SECONDS * 1000, followPollMs: 25 })
}

function initialize(env: WorkerEnv): Isolate {
  try {
    const deps = dependencies(env)
    const app = createApp({ ...deps, hub: streamState(env, deps), upgradeWebSocket, assets: env.ASSETS ? bindingAssets(env.ASSETS) : undefined })
    return { ok: true, app }
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, error }
    throw error
  }
}

/** The Durable Object that runs a conversation's generations (generation-object.ts), with this entry's wiring. */
export class GenerationObject extends GenerationObjectBase<WorkerEnv> {
  protected override dependencies(): ObjectDependencies {
    return dependencies(this.env)
  }
}

export { CounterObject } from './counter-object'

const newRequestId = createIdGenerator()

/**
 * A misconfigured Worker answers every request with a 500 problem that names the bad variables, and logs it so it
 * shows in `wrangler tail`. (ConfigSchema messages state the rule; only the duration check echoes the bad value.)
 */
function configErrorResponse(error: ConfigError): Response {
  const requestId = newRequestId('req')
  console.error(JSON.stringify({ time: new Date().toISOString(), level: 'error', message: error.message, requestId }))
  const body = {
    type: 'https://edgechat.dev/errors/internal',
    title: 'Internal error',
    status: 500,
    detail: `Server misconfigured. ${error.message}`,
    code: 'internal',
    requestId,
  }
  return new Response(JSON.stringify(body), {
    status: 500,
    headers: { 'Content-Type': 'application/problem+json', 'X-Request-Id': requestId, 'Cache-Control': 'no-store' },
  })
}

export default {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response> {
    let isolate = isolates.get(env)
    if (!isolate) {
      isolate = initialize(env)
      isolates.set(env, isolate)
    }
    if (!isolate.ok) return configErrorResponse(isolate.error)
    return isolate.app.fetch(request, env, ctx)
  },
} satisfies ExportedHandler<WorkerEnv>
