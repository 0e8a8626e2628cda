import type { OpenAPIHono, RouteConfig, RouteHandler } from '@hono/zod-openapi'
import type { JWTVerifyGetKey } from 'jose'
import type { Governance } from './chat/governance'
import type { Config } from './config'
import type { Database } from './db/database'
import type { Counters } from './governance/counters'
import type { BlobStore } from './files/blob-store'
import type { Scope } from './db/schema'
import type { IdGenerator } from './lib/ids'
import type { Logger } from './lib/logger'
import type { Metrics } from './metrics/registry'
import type { ModelClient } from './models/model-client'
import type { AccessTokenCache } from './services/access-tokens'
import type { SearchIndex } from './search/search-index'
import type { GenerationHub } from './stream/hub'
import type { TaskRegistry } from './stream/tasks'
import type { ToolRegistry } from './tools/registry'

/** Everything a request may touch, wired by the runtime entry. */
export interface Services {
  config: Config & { JWT_SECRET: string }
  db: Database
  logger: Logger
  newId: IdGenerator
  now: () => Date
  /** Key resolver for the external OIDC issuer, when one is configured. */
  oidcKeys: JWTVerifyGetKey | null
  /** The provider-neutral model client (Bedrock Converse over signed fetch, or the emulator). */
  models: ModelClient
  /** Where in-flight generations live and are followed from. */
  hub: GenerationHub
  /** The tasks hubs run (`chat`), with these services. */
  tasks: TaskRegistry
  /** Limit checks before a turn, usage recording after it (no-op until budgets exist). */
  governance: Governance
  /** Counters shared across processes (rate limits, login throttling): memory, Redis or Durable Objects. */
  counters: Counters
  /** The client's address as the runtime sees it (socket peer; CF-Connecting-IP on Workers), null when unknown. */
  clientAddress: ClientAddress
  /** Verified access tokens, HMAC key and session generations: a per-process cache, held here rather than by a module. */
  accessTokens: AccessTokenCache
  metrics: Metrics
  /** Server-side tools: built-in, and those of each workspace's MCP servers. */
  tools: ToolRegistry
  /** Where file bytes are stored (R2, a directory, memory); null when the runtime has none (files are then 503). */
  blobs: BlobStore | null
  /** The full-text index's upkeep (batched indexing of stored messages). */
  search: SearchIndex
}

export type ClientAddress = (request: Request, env: unknown) => string | null

export interface AuthContext {
  userId: string
  /** Set when the caller used an API key. */
  apiKeyId: string | null
  /** Set when the API key is scoped to one workspace: nothing outside it is visible. */
  workspaceScope: string | null
  /** What the caller may do: an API key's scopes; a user's own token (JWT or OIDC) has every scope. */
  scopes: readonly Scope[]
}

export interface AppEnv {
  Bindings: Record<string, unknown>
  Variables: {
    requestId: string
    services: Services
    auth: AuthContext
  }
}

export type AppOpenAPI = OpenAPIHono<AppEnv>
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>
