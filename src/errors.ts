import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { jsonShapeIssue } from './lib/json-shape'

export const errorStatus = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  registration_closed: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_mismatch: 422,
  rate_limited: 429,
  quota_exceeded: 429,
  internal: 500,
  upstream_error: 502,
  not_ready: 503,
  upstream_timeout: 504,
} as const satisfies Record<string, ContentfulStatusCode>

export type ErrorCode = keyof typeof errorStatus

const titles: Record<ErrorCode, string> = {
  validation_failed: 'Validation failed',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  registration_closed: 'Registration closed',
  not_found: 'Not found',
  conflict: 'Conflict',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  idempotency_mismatch: 'Idempotency key reused with a different request',
  rate_limited: 'Too many requests',
  quota_exceeded: 'Quota exceeded',
  internal: 'Internal error',
  upstream_error: 'Upstream error',
  not_ready: 'Not ready',
  upstream_timeout: 'Upstream timeout',
}

export interface FieldError {
  path: string
  message: string
}

export class AppError extends Error {
  readonly status: ContentfulStatusCode
  constructor(
    readonly code: ErrorCode,
    message: string = titles[code],
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string>; members?: Record<string, unknown> } = {},
  ) {
    super(message)
    this.name = 'AppError'
    this.status = errorStatus[code]
  }
}

export const notFound = (what = 'Resource') => new AppError('not_found', `${what} not found`)

export function problemResponse(c: Context, error: AppError): Response {
  // A client can rely on `errors` with validation_failed, also where no field is to blame (a body that is not JSON).
  const errors = error.extra.errors ?? (error.code === 'validation_failed' ? [{ path: '', message: error.message }] : undefined)
  const body = {
    type: `https://edgechat.dev/errors/${error.code}`,
    title: titles[error.code],
    status: error.status,
    detail: error.message,
    code: error.code,
    requestId: c.get('requestId') as string | undefined,
    ...(errors ? { errors } : {}),
    ...error.extra.members,
  }
  return c.body(JSON.stringify(body), error.status, { ...error.extra.headers, 'Content-Type': 'application/problem+json' })
}

export function validationError(issues: readonly z.core.$ZodIssue[]): AppError {
  const errors = issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }))
  return fieldErrors(errors)
}

function fieldErrors(errors: FieldError[]): AppError {
  const [first = { path: '', message: 'Request is invalid' }] = errors
  return new AppError('validation_failed', first.path ? `${first.path}: ${first.message}` : first.message, { errors: errors.length ? errors : [first] })
}

/**
 * The zod-openapi defaultHook: every request validation failure renders as problem+json. A JSON body that passed
 * its schema is also refused when it could not be stored exactly or handled safely (lib/json-shape.ts).
 */
export function validationHook(result: { success: boolean; error?: z.ZodError; data?: unknown; target?: string }, c: Context): Response | undefined {
  if (!result.success && result.error) return problemResponse(c, validationError(result.error.issues))
  if (result.success && result.target === 'json') {
    const error = jsonShapeError(result.data)
    if (error) return problemResponse(c, error)
  }
  return undefined
}

/** A parsed JSON message that could not be stored exactly (a lone surrogate) or nests too deep, as validation_failed. */
export function jsonShapeError(value: unknown): AppError | null {
  const issue = jsonShapeIssue(value)
  return issue ? fieldErrors([issue]) : null
}

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]]),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem')

const statusDescriptions: Record<number, string> = {
  400: 'Invalid request (validation_failed)',
  401: 'Missing or invalid credentials (unauthorized)',
  403: 'Not allowed (forbidden, registration_closed)',
  404: 'Not found, or not visible to the caller (not_found)',
  409: 'Conflict with the current state (conflict)',
  413: 'Body too large (payload_too_large)',
  415: 'Body is not application/json (unsupported_media_type)',
  422: 'Idempotency key reused with a different body (idempotency_mismatch)',
  429: 'Rate limited (rate_limited) or a budget spent (quota_exceeded); see Retry-After',
  500: 'Unexpected error (internal)',
  502: 'Upstream model error (upstream_error)',
  503: 'A dependency is not ready (not_ready)',
  504: 'Upstream model timed out (upstream_timeout)',
}

type ErrorResponses<S extends number> = { [K in S]: { description: string; content: { 'application/problem+json': { schema: typeof ProblemSchema } } } }

/** Spread into a route's `responses` so OpenAPI documents the errors it can return. */
export function errorResponses<S extends number>(...statuses: S[]): ErrorResponses<S> {
  const all = [...new Set<number>([...statuses, 500])]
  return Object.fromEntries(
    all.map((status) => [
      status,
      { description: statusDescriptions[status] ?? 'Error', content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  ) as ErrorResponses<S>
}
