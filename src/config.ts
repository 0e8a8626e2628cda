import { z } from 'zod'
import { containerUriProblem } from './bedrock/aws-credentials/container'
import { ModelCatalogVariable } from './models/catalog-config'

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const match = /^(\d+)\s*(s|m|h|d)?$/.exec(value.trim())
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `expected seconds or a duration like 15m, 12h, 30d; got "${value}"` })
        return z.NEVER
      }
      const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd']
      return Number(match[1]) * unit
    })
    .pipe(z.number().int().positive())

const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => ['true', '1', 'yes'].includes(value))

const bytes = (fallback: number) => z.coerce.number().int().positive().default(fallback)

const list = z
  .string()
  .optional()
  .transform((value) => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean))

const HOW_TO_SET_CREDENTIALS =
  'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_BEARER_TOKEN_BEDROCK, or a role (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, or AWS_CONTAINER_CREDENTIALS_FULL_URI / AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, as EKS and ECS set them)'

export const ConfigSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8787),
    /** The listen address on Node and Bun; unset: 127.0.0.1 outside production, every interface (0.0.0.0) in production. */
    HOST: z.string().min(1).optional(),
    DATABASE_URL: z.string().min(1).default('file:./data/edgechat.db'),
    DATABASE_AUTH_TOKEN: z.string().optional(),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    ACCESS_TOKEN_TTL: duration('15m'),
    REFRESH_TOKEN_TTL: duration('30d'),
    /** How long a rotated refresh token presented again returns the same successor instead of revoking its family; 0: never. */
    REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(10),
    ALLOW_REGISTRATION: boolean(true),
    OIDC_ISSUER: z.url().optional(),
    OIDC_AUDIENCE: z.string().min(1).optional(),
    OIDC_JWKS_URL: z.url().optional(),
    CORS_ORIGINS: list,
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    MAX_BODY_BYTES: bytes(1024 * 1024),
    MAX_TURN_BODY_BYTES: bytes(25 * 1024 * 1024),
    AWS_REGION: z.string().min(1).default('us-east-1'),
    AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
    AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    AWS_SESSION_TOKEN: z.string().min(1).optional(),
    AWS_BEARER_TOKEN_BEDROCK: z.string().min(1).optional(),
    /** Web identity (EKS IRSA): a token file exchanged with STS AssumeRoleWithWebIdentity for the role's credentials. */
    AWS_WEB_IDENTITY_TOKEN_FILE: z.string().min(1).optional(),
    AWS_ROLE_ARN: z.string().regex(/^arn:[\w-]+:iam::\d{12}:role\/\S+$/, 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)').optional(),
    AWS_ROLE_SESSION_NAME: z.string().regex(/^[\w+=,.@-]{2,64}$/, 'must be 2-64 characters of letters, digits and +=,.@_-').optional(),
    AWS_ENDPOINT_URL_STS: z.url().optional(),
    /** Container credentials (ECS task roles, EKS Pod Identity). */
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: z.string().startsWith('/', 'must be a path starting with /').optional(),
    AWS_CONTAINER_CREDENTIALS_FULL_URI: z.url().optional(),
    AWS_CONTAINER_AUTHORIZATION_TOKEN: z.string().regex(/^[^\r\n]+$/, 'must be one line').optional(),
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: z.string().min(1).optional(),
    /** EC2 instance metadata (IMDSv2), the last source of the chain; consulted only with BEDROCK_EMULATOR=off. */
    AWS_EC2_METADATA_DISABLED: boolean(false),
    AWS_EC2_METADATA_SERVICE_ENDPOINT: z.url().optional(),
    AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: z.enum(['IPv4', 'IPv6']).default('IPv4'),
    BEDROCK_ENDPOINT: z.url().optional(),
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: z.url().optional(),
    BEDROCK_EMULATOR: z.enum(['auto', 'on', 'off']).default('auto'),
    EMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(4010),
    EMULATOR_ACCESS_KEY_ID: z.string().min(1).default('AKIDEXAMPLE'),
    EMULATOR_SECRET_ACCESS_KEY: z.string().min(1).default('fake-secret'),
    DEFAULT_MODEL_ID: z.string().min(1).max(300).default('amazon.nova-lite-v1:0'),
    DEFAULT_MAX_TOKENS: z.coerce.number().int().positive().default(2048),
    MODEL_IDS: list,
    /** JSON: models over the built-in catalog (override a known id's fields, or add an id); see src/models/catalog-config.ts. */
    MODEL_CATALOG: ModelCatalogVariable,
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    STREAM_RETENTION_SECONDS: z.coerce.number().int().positive().default(600),
    STREAM_STALE_SECONDS: z.coerce.number().int().positive().default(30),
    STREAM_STATE: z.enum(['memory', 'redis', 'durable-object']).optional(),
    /** Bytes of finished generations' packed events the memory hub keeps in the heap; the rest waits in the database. */
    STREAM_MEMORY_BYTES: bytes(16 * 1024 * 1024),
    UPSTREAM_CONNECT_TIMEOUT_SECONDS: z.coerce.number().positive().default(60),
    UPSTREAM_FIRST_TOKEN_TIMEOUT_SECONDS: z.coerce.number().positive().default(300),
    UPSTREAM_IDLE_TIMEOUT_SECONDS: z.coerce.number().positive().default(120),
    GENERATION_MAX_SECONDS: z.coerce.number().positive().default(900),
    /** The most tokens history is fitted to; a model's smaller context window from the catalog wins. */
    DEFAULT_CONTEXT_TOKENS: z.coerce.number().int().positive().default(128_000),
    /** The most a conversation may store (message parts, images and documents included): a turn beyond it is a 413. */
    MAX_CONVERSATION_BYTES: bytes(64 * 1024 * 1024),
    /**
     * Whether to take the client address (login throttling) from X-Forwarded-For on Node and Bun: false (the socket's
     * address), true (one proxy: the last address it appended), or the number of proxies in front.
     */
    TRUST_PROXY: z
      .string()
      .default('false')
      .transform((value) => (['true', 'yes'].includes(value) ? 1 : ['false', 'no', '0'].includes(value) ? 0 : Number(value)))
      .pipe(z.number({ error: 'expected true, false or a number of proxies' }).int().min(0).max(10)),
    /** Within each AUTH_THROTTLE_WINDOW: failed logins per email and address (failed registrations per email), failed logins per address. */
    AUTH_ATTEMPTS_PER_EMAIL: z.coerce.number().int().positive().default(10),
    LOGIN_FAILURES_PER_ADDRESS: z.coerce.number().int().positive().default(50),
    /** Failed registrations per client address within AUTH_THROTTLE_WINDOW. */
    REGISTRATION_FAILURES_PER_ADDRESS: z.coerce.number().int().positive().default(20),
    AUTH_THROTTLE_WINDOW: duration('15m'),
    // Conversation titles, search and files (issue 13).
    /** Titles generated after a conversation's first completed turn (unless the user set one); false keeps the first message's words. */
    GENERATE_TITLES: boolean(true),
    /** The model that writes titles; default DEFAULT_MODEL_ID. */
    TITLE_MODEL_ID: z.string().min(1).max(300).optional(),
    /** Node and Bun: the directory of the file blob store (Workers use the R2 binding FILES). */
    FILES_DIR: z.string().min(1).default('./data/files'),
    /** The largest file one upload may store (413 beyond it). */
    MAX_FILE_BYTES: bytes(25 * 1024 * 1024),
    /** The most file bytes a workspace may store, uploads and moved media together (413 beyond it). */
    MAX_WORKSPACE_FILE_BYTES: bytes(1024 * 1024 * 1024),
    /** An inline image or document larger than this is moved to the blob store when its message is stored. */
    INLINE_MEDIA_MAX_BYTES: bytes(256 * 1024),
    UPSTASH_REDIS_REST_URL: z.url().optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
    // Tools (src/tools/): the tool loop's bounds, and the key MCP servers' header values are encrypted with.
    /** Model calls per turn; the last is sent without tools, so the model answers. */
    MAX_TOOL_STEPS: z.coerce.number().int().min(2).max(50).default(8),
    TOOL_TIMEOUT_SECONDS: z.coerce.number().positive().max(900).default(30),
    /** Characters of a tool's output that go back to the model (the rest is cut, and the result says so). */
    TOOL_OUTPUT_MAX_CHARS: z.coerce.number().int().min(100).max(1_000_000).default(20_000),
    /** AES-256 key (32 bytes, base64) for MCP server headers at rest; unset: derived from JWT_SECRET. */
    MCP_SECRETS_KEY: z
      .string()
      .regex(/^[A-Za-z0-9+/_-]{43}=?$/, 'must be 32 bytes in base64 (openssl rand -base64 32)')
      .optional(),
    MCP_TOOLS_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
    /** Let MCP server URLs name localhost or private, link-local and loopback addresses (tests, private deployments). */
    MCP_ALLOW_PRIVATE_URLS: boolean(false),
  })
  .superRefine((config, ctx) => {
    if (config.NODE_ENV === 'production' && !config.JWT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required when NODE_ENV=production' })
    }
    const source = awsCredentialSource(config)
    if (config.BEDROCK_EMULATOR === 'off' && !source) {
      ctx.addIssue({
        code: 'custom',
        path: ['BEDROCK_EMULATOR'],
        message: `off needs AWS credentials, and AWS_EC2_METADATA_DISABLED=true turns off the last source (EC2 instance metadata): ${HOW_TO_SET_CREDENTIALS}`,
      })
    }
    if (config.NODE_ENV === 'production' && config.BEDROCK_EMULATOR === 'auto' && !source) {
      ctx.addIssue({
        code: 'custom',
        path: ['BEDROCK_EMULATOR'],
        message: `no AWS credentials are set in production: ${HOW_TO_SET_CREDENTIALS}; set BEDROCK_EMULATOR=off to use the EC2 instance role (instance metadata), or BEDROCK_EMULATOR=on to serve synthetic answers on purpose`,
      })
    }
    if (config.MODEL_IDS.length > 0 && !config.MODEL_IDS.includes(config.DEFAULT_MODEL_ID)) {
      ctx.addIssue({ code: 'custom', path: ['DEFAULT_MODEL_ID'], message: `must be one of MODEL_IDS (${config.MODEL_IDS.join(', ')})` })
    }
    if (config.TITLE_MODEL_ID && config.MODEL_IDS.length > 0 && !config.MODEL_IDS.includes(config.TITLE_MODEL_ID)) {
      ctx.addIssue({ code: 'custom', path: ['TITLE_MODEL_ID'], message: `must be one of MODEL_IDS (${config.MODEL_IDS.join(', ')})` })
    }
    const endpoint = config.BEDROCK_ENDPOINT ?? config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME
    if (endpoint && config.BEDROCK_EMULATOR === 'auto' && !source) {
      ctx.addIssue({
        code: 'custom',
        path: ['AWS_ACCESS_KEY_ID'],
        message: `is required (or AWS_BEARER_TOKEN_BEDROCK, a role, or BEDROCK_EMULATOR=off for the EC2 instance role) to call ${endpoint}`,
      })
    }
    if (Boolean(config.AWS_WEB_IDENTITY_TOKEN_FILE) !== Boolean(config.AWS_ROLE_ARN)) {
      const [missing, present] = config.AWS_ROLE_ARN ? ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'] : ['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE']
      ctx.addIssue({ code: 'custom', path: [missing], message: `is required when ${present} is set (web identity needs both)` })
    }
    const fullUri = config.AWS_CONTAINER_CREDENTIALS_FULL_URI
    const fullUriProblem = fullUri && !config.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ? containerUriProblem(fullUri) : undefined
    if (fullUriProblem) ctx.addIssue({ code: 'custom', path: ['AWS_CONTAINER_CREDENTIALS_FULL_URI'], message: fullUriProblem })
    if (config.STREAM_STATE === 'redis' && !(config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN)) {
      ctx.addIssue({ code: 'custom', path: ['UPSTASH_REDIS_REST_URL'], message: 'and UPSTASH_REDIS_REST_TOKEN are required when STREAM_STATE=redis' })
    }
    if (config.AWS_ACCESS_KEY_ID && !config.AWS_SECRET_ACCESS_KEY) {
      ctx.addIssue({ code: 'custom', path: ['AWS_SECRET_ACCESS_KEY'], message: 'is required when AWS_ACCESS_KEY_ID is set' })
    }
    if (config.OIDC_ISSUER && !config.OIDC_AUDIENCE) {
      ctx.addIssue({ code: 'custom', path: ['OIDC_AUDIENCE'], message: 'is required when OIDC_ISSUER is set' })
    }
  })

export type Config = z.infer<typeof ConfigSchema>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Parses configuration from string variables (the environment, Worker vars). Fails closed, naming every bad variable. */
export function parseConfig(source: Record<string, unknown>): Config {
  const strings = Object.fromEntries(
    Object.entries(source).filter(([, value]) => typeof value === 'string' && value !== ''),
  )
  const result = ConfigSchema.safeParse(strings)
  if (result.success) return result.data
  const problems = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(config)'}: ${issue.message}`)
  throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`)
}

/** Whether the built-in Bedrock emulator answers instead of AWS (no credentials and not turned off, or forced on). */
export function usesBedrockEmulator(config: Config): boolean {
  if (config.BEDROCK_EMULATOR !== 'auto') return config.BEDROCK_EMULATOR === 'on'
  return !awsCredentialSource(config)
}

export type AwsCredentialSource = 'api-key' | 'environment' | 'web-identity' | 'container' | 'instance-metadata'

type CredentialVariables = Pick<
  Config,
  | 'AWS_BEARER_TOKEN_BEDROCK'
  | 'AWS_ACCESS_KEY_ID'
  | 'AWS_WEB_IDENTITY_TOKEN_FILE'
  | 'AWS_ROLE_ARN'
  | 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'
  | 'AWS_CONTAINER_CREDENTIALS_FULL_URI'
  | 'AWS_EC2_METADATA_DISABLED'
  | 'BEDROCK_EMULATOR'
>

/**
 * Where Bedrock credentials come from, in the AWS default chain's order (the first source whose variables are set;
 * a Bedrock API key wins over all): undefined when there is none. EC2 instance metadata has no variable to detect,
 * so it is the source only when BEDROCK_EMULATOR=off asks for AWS unconditionally.
 */
export function awsCredentialSource(config: CredentialVariables): AwsCredentialSource | undefined {
  if (config.AWS_BEARER_TOKEN_BEDROCK) return 'api-key'
  if (config.AWS_ACCESS_KEY_ID) return 'environment'
  if (config.AWS_WEB_IDENTITY_TOKEN_FILE && config.AWS_ROLE_ARN) return 'web-identity'
  if (config.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || config.AWS_CONTAINER_CREDENTIALS_FULL_URI) return 'container'
  if (config.BEDROCK_EMULATOR === 'off' && !config.AWS_EC2_METADATA_DISABLED) return 'instance-metadata'
  return undefined
}
