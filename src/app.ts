import { HTTPException } from 'hono/http-exception'
import type { UpgradeWebSocket } from 'hono/ws'
import { cors } from 'hono/cors'
import { requestId } from 'hono/request-id'
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose'
import { ConfigError, type Config } from './config'
import type { Database } from './db/database'
import { AppError, problemResponse, type ErrorCode } from './errors'
import { createRouter } from './lib/create-router'
import { createIdGenerator, type IdGenerator } from './lib/ids'
import { createLogger, type Logger } from './lib/logger'
import { requireAuth } from './middleware/auth'
import { jsonBody } from './middleware/json-body'
import { requestLogger } from './middleware/request-logger'
import { securityHeaders } from './middleware/security-headers'
import { apiKeysRouter } from './routes/api-keys/api-keys.index'
import { authRouter } from './routes/auth/auth.index'
import { pagesRouter } from './routes/pages'
import { healthRouter } from './routes/health/health.index'
import { meRouter } from './routes/me/me.index'
import { workspacesRouter } from './routes/workspaces/workspaces.index'
import { conversationsRouter } from './routes/conversations/conversations.index'
import { generationsRouter } from './routes/generations/generations.index'
import { messagesRouter } from './routes/messages/messages.index'
import { modelsRouter } from './routes/models/models.index'
import { uiChatRouter } from './routes/ui-chat/ui-chat.index'
import { chatCompletionsRouter } from './routes/openai/chat-completions.index'
import { responsesRouter } from './routes/responses/responses.index'
import { openAIErrors } from './protocols/openai-errors'
import { websocketRouter } from './routes/realtime/websocket.index'
import { assistantsRouter } from './routes/assistants/assistants.index'
import { toolsRouter } from './routes/tools/tools.index'
import { tasksRouter } from './routes/tasks/tasks.index'
import { mcpServersRouter } from './routes/mcp-servers/mcp-servers.index'
import { searchRouter } from './routes/search/search.index'
import { filesRouter } from './routes/files/files.index'
import { memoryBlobStore, type BlobStore } from './files/blob-store'
import type { WebSocketOptions } from './routes/realtime/socket-options'
import type { BedrockClient } from './bedrock/types'
import { bedrockModelClient } from './bedrock/bedrock-models'
import { chatTask } from './chat/chat-task'
import type { Governance } from './chat/governance'
import type { Counters } from './governance/counters'
import { createGovernance } from './governance/limit-checks'
import { createMemoryCounters } from './governance/memory-counters'
import { rateLimitHeaders } from './middleware/rate-limit-headers'
import { usageRouter } from './routes/usage/usage.index'
import { limitsRouter } from './routes/limits/limits.index'
import { createAccessTokenCache } from './services/access-tokens'
import { createMetrics } from './metrics/registry'
import type { StaticAssets } from './lib/static-assets'
import { createMemoryHub } from './stream/memory-hub'
import type { GenerationHub, TaskRunner } from './stream/hub'
import { createSearchIndex } from './search/search-index'
import { createTaskRegistry, type TaskDefinition } from './stream/tasks'
import type { ClientAddress, Services } from './types'
import { builtinTools, createToolRegistry } from './tools/registry'
import { createSecretBox } from './tools/secrets'
import type { ServerTool } from './tools/tool'

export interface AppDependencies {
  config: Config
  db: Database
  logger?: Logger
  now?: () => Date
  newId?: IdGenerator
  /** Overrides the JWKS fetched from OIDC_JWKS_URL (tests use a local key set). */
  oidcKeys?: JWTVerifyGetKey
  /** Bedrock, the model provider (the real client, the emulator's, or a test's wrapper). */
  models: BedrockClient
  /** The tasks hubs may run; defaults to the `chat` task. */
  tasks?: readonly TaskDefinition<Services, any>[]
  /** Limit checks and usage recording; defaults to the workspaces' limits over `counters`. */
  governance?: Governance
  /** Counters shared by the processes serving the app (memory, Redis, Durable Objects); defaults to this process's memory. */
  counters?: Counters
  /** How the runtime tells a request's client address (login throttling); unknown by default. */
  clientAddress?: ClientAddress
  /** The runtime's WebSocket adapter (hono/bun, hono/cloudflare-workers, @hono/node-server). */
  upgradeWebSocket?: UpgradeWebSocket
  /** What the runtime tells about a socket's send buffer, and the socket limits (tests lower them). */
  webSocket?: WebSocketOptions
  /** File bytes: R2 on Workers, a directory on Node and Bun (the entries'); defaults to this process's memory. */
  blobs?: BlobStore | null
  /** Builds the stream-state hub around the task runner; defaults to an in-memory hub (one process). */
  hub?: (run: TaskRunner) => GenerationHub
  /** The playground's and the API reference's files (Workers static assets, or a directory on Node and Bun). */
  assets?: StaticAssets
  /** The built-in server-side tools; defaults to current_time and calculator. */
  tools?: readonly ServerTool[]
}

const PUBLIC_PATHS = new Set(['/v1/auth/register', '/v1/auth/login', '/v1/auth/refresh', '/v1/auth/logout'])
const FILES_PATH = '/v1/files'
const TURN_PATH = /^\/v1\/(?:conversations\/[^/]+\/messages|ui\/chat|chat\/completions|responses)\/?$/

const httpStatusCodes: Partial<Record<number, ErrorCode>> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
}

export function buildServices(deps: AppDependencies): Services {
  const { config } = deps
  const secret = config.JWT_SECRET
  if (!secret) throw new ConfigError('Invalid configuration:\n  JWT_SECRET: is required (the entry generates one in development)')
  const jwksUrl = config.OIDC_JWKS_URL ?? (config.OIDC_ISSUER ? `${config.OIDC_ISSUER.replace(/\/$/, '')}/.well-known/jwks.json` : null)
  const counters = deps.counters ?? createMemoryCounters()
  const metrics = createMetrics()
  const now = deps.now ?? (() => new Date())
  const logger = deps.logger ?? createLogger(config.LOG_LEVEL)
  const base: Omit<Services, 'hub' | 'tasks'> = {
    config: { ...config, JWT_SECRET: secret },
    db: deps.db,
    logger,
    newId: deps.newId ?? createIdGenerator(),
    now,
    oidcKeys: deps.oidcKeys ?? (jwksUrl ? createRemoteJWKSet(new URL(jwksUrl)) : null),
    models: bedrockModelClient(deps.models),
    governance: deps.governance ?? createGovernance({ db: deps.db, config, counters, now, metrics }),
    counters,
    clientAddress: deps.clientAddress ?? (() => null),
    accessTokens: createAccessTokenCache(),
    metrics,
    tools: createToolRegistry({
      db: deps.db,
      builtin: deps.tools ?? builtinTools(now),
      secrets: createSecretBox(config.MCP_SECRETS_KEY, secret),
      cacheSeconds: config.MCP_TOOLS_CACHE_SECONDS,
      listTimeoutMs: config.TOOL_TIMEOUT_SECONDS * 1000,
    }),
    blobs: deps.blobs === undefined ? memoryBlobStore() : deps.blobs,
    search: createSearchIndex(deps.db, logger),
  }
  // Tasks run with the finished services; the hub only calls `run` after construction.
  const tasks = createTaskRegistry(() => services, deps.tasks ?? [chatTask])
  const run: TaskRunner = tasks.run
  const services: Services = { ...base, tasks, hub: deps.hub?.(run) ?? createMemoryHub({ run, retentionMs: config.STREAM_RETENTION_SECONDS * 1000 }) }
  return services
}

export function createApp(deps: AppDependencies) {
  const services = buildServices(deps)
  const { config } = services
  const app = createRouter()

  app.use('*', requestId({ generator: () => services.newId('req') }))
  app.use('*', securityHeaders)
  app.use('*', async (c, next) => {
    c.set('services', services)
    await next()
  })
  app.use('*', requestLogger)
  // `*` only outside production; in production browsers need CORS_ORIGINS. Credentials are never allowed.
  const corsOrigin = config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : config.NODE_ENV === 'production' ? [] : '*'
  const corsHeaders = cors({
    origin: corsOrigin,
    allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID', 'X-Request-Id'],
    exposeHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
    maxAge: 600,
  })
  // Only a browser (a request with Origin) needs CORS headers. hono's cors writes them into c.res before the
  // handler runs, which costs every response a copy (and the Node adapter its fast path), so others skip it.
  app.use('*', (c, next) => {
    if (c.req.header('origin') !== undefined) return corsHeaders(c, next)
    if (corsOrigin !== '*') c.header('Vary', 'Origin')
    return next()
  })
  app.use('/v1/*', openAIErrors)
  const json = jsonBody((path) => (TURN_PATH.test(path) ? config.MAX_TURN_BODY_BYTES : config.MAX_BODY_BYTES))
  // Uploads are multipart or raw bytes, bounded by MAX_FILE_BYTES in their route.
  app.use('/v1/*', async (c, next) => (c.req.path === FILES_PATH ? next() : json(c, next)))
  app.use('/v1/*', async (c, next) => (PUBLIC_PATHS.has(c.req.path) ? next() : requireAuth(c, next)))
  app.use('/v1/*', rateLimitHeaders)

  const routes = app
    .route('/', healthRouter)
    .route('/', authRouter)
    .route('/', meRouter)
    .route('/', apiKeysRouter)
    .route('/', workspacesRouter)
    .route('/', conversationsRouter)
    .route('/', messagesRouter)
    .route('/', searchRouter)
    .route('/', filesRouter)
    .route('/', generationsRouter)
    .route('/', modelsRouter)
    .route('/', uiChatRouter)
    .route('/', chatCompletionsRouter)
    .route('/', responsesRouter)
    .route('/', usageRouter)
    .route('/', limitsRouter)
    .route('/', websocketRouter(deps.upgradeWebSocket, deps.webSocket))
    .route('/', assistantsRouter)
    .route('/', toolsRouter)
    .route('/', tasksRouter)
    .route('/', mcpServersRouter)
    .route('/', pagesRouter(deps.assets))

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An access token (JWT) from /v1/auth/login, or an API key (sk_...). Each operation lists the API-key scope it needs ' +
      '(read, chat or admin); a key without it gets 403. Access tokens have every scope.',
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'userToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'An access token (JWT) from /v1/auth/login or an OIDC token: API keys are refused with 403',
  })
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'EdgeChat API',
      version: '1.0.0',
      description: 'Edge-first chat API for Amazon Bedrock. Errors are RFC 9457 application/problem+json with a stable `code`.',
    },
  })

  app.notFound((c) => problemResponse(c, new AppError('not_found', `No route for ${c.req.method} ${c.req.path}`)))
  app.onError((error, c) => {
    if (error instanceof AppError) return problemResponse(c, error)
    if (error instanceof HTTPException) {
      const code = httpStatusCodes[error.status] ?? 'internal'
      return problemResponse(c, new AppError(code, error.status < 500 ? error.message : undefined))
    }
    services.logger.error('unhandled error', {
      requestId: c.var.requestId,
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    })
    return problemResponse(c, new AppError('internal', 'An unexpected error occurred'))
  })

  return routes
}

export type App = ReturnType<typeof createApp>
