import { z } from 'zod'

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

export const ConfigSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8787),
    DATABASE_URL: z.string().min(1).default('file:./data/edgechat.db'),
    DATABASE_AUTH_TOKEN: z.string().optional(),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    ACCESS_TOKEN_TTL: duration('15m'),
    REFRESH_TOKEN_TTL: duration('30d'),
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
    BEDROCK_ENDPOINT: z.url().optional(),
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: z.url().optional(),
    BEDROCK_EMULATOR: z.enum(['auto', 'on', 'off']).default('auto'),
    EMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(4010),
    EMULATOR_ACCESS_KEY_ID: z.string().min(1).default('AKIDEXAMPLE'),
    EMULATOR_SECRET_ACCESS_KEY: z.string().min(1).default('fake-secret'),
    DEFAULT_MODEL_ID: z.string().min(1).max(300).default('amazon.nova-lite-v1:0'),
    DEFAULT_MAX_TOKENS: z.coerce.number().int().positive().default(2048),
    MODEL_IDS: list,
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    STREAM_RETENTION_SECONDS: z.coerce.number().int().positive().default(600),
    STREAM_STALE_SECONDS: z.coerce.number().int().positive().default(30),
    STREAM_STATE: z.enum(['memory', 'redis', 'durable-object']).optional(),
    UPSTASH_REDIS_REST_URL: z.url().optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
  })
  .superRefine((config, ctx) => {
    if (config.NODE_ENV === 'production' && !config.JWT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required when NODE_ENV=production' })
    }
    if (config.BEDROCK_EMULATOR === 'off' && !config.AWS_ACCESS_KEY_ID && !config.AWS_BEARER_TOKEN_BEDROCK) {
      ctx.addIssue({
        code: 'custom',
        path: ['AWS_ACCESS_KEY_ID'],
        message: 'is required (or AWS_BEARER_TOKEN_BEDROCK) when BEDROCK_EMULATOR=off',
      })
    }
    if (config.MODEL_IDS.length > 0 && !config.MODEL_IDS.includes(config.DEFAULT_MODEL_ID)) {
      ctx.addIssue({ code: 'custom', path: ['DEFAULT_MODEL_ID'], message: `must be one of MODEL_IDS (${config.MODEL_IDS.join(', ')})` })
    }
    const endpoint = config.BEDROCK_ENDPOINT ?? config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME
    if (endpoint && config.BEDROCK_EMULATOR !== 'on' && !config.AWS_ACCESS_KEY_ID && !config.AWS_BEARER_TOKEN_BEDROCK) {
      ctx.addIssue({ code: 'custom', path: ['AWS_ACCESS_KEY_ID'], message: `is required (or AWS_BEARER_TOKEN_BEDROCK) to call ${endpoint}` })
    }
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
  return !config.AWS_ACCESS_KEY_ID && !config.AWS_BEARER_TOKEN_BEDROCK
}
