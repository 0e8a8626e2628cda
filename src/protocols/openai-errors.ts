import { z } from '@hono/zod-openapi'
import { createMiddleware } from 'hono/factory'
import { AppError } from '../errors'
import type { AppEnv } from '../types'

/** The OpenAI-compatible routes: they answer errors the way OpenAI does, which OpenAI clients parse. */
export const OPENAI_COMPATIBLE_PATH = /^\/v1\/(?:models|chat\/completions|responses)(?:\/|$)/

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string }
}

/** Our errors name the field `modelId`; OpenAI's requests call it `model`. */
export function renamingModel(error: unknown): unknown {
  if (!(error instanceof AppError) || error.extra.errors?.[0]?.path !== 'modelId') return error
  const message = error.extra.errors[0].message
  return new AppError(error.code, `model: ${message}`, { ...error.extra, errors: [{ path: 'model', message }] })
}

/** OpenAI's error types: every client error is an invalid_request_error (a 401 too), except rate limits. */
function errorType(status: number): string {
  if (status === 429) return 'rate_limit_error'
  return status >= 500 ? 'server_error' : 'invalid_request_error'
}

/** An error as OpenAI shapes it; `code` is EdgeChat's stable code, `param` the first field to blame. */
export function openAIError(error: { status: number; code: string; message: string; param?: string | null | undefined }): OpenAIErrorBody {
  return { error: { message: error.message, type: errorType(error.status), param: error.param || null, code: error.code } }
}

export function openAIErrorFromAppError(error: AppError): OpenAIErrorBody {
  return openAIError({ status: error.status, code: error.code, message: error.message, param: error.extra.errors?.[0]?.path })
}

interface Problem {
  status?: number
  code?: string
  detail?: string
  title?: string
  errors?: { path?: string }[]
}

/**
 * Mounted before authentication on /v1/*: on the OpenAI-compatible routes, every RFC 9457 problem the app answers
 * (401 from auth, request validation, 404, onError) is rewritten to OpenAI's `{error: {message, type, param, code}}`,
 * with the same status and headers (Retry-After, WWW-Authenticate, X-Request-Id).
 */
export const openAIErrors = createMiddleware<AppEnv>(async (c, next) => {
  if (!OPENAI_COMPATIBLE_PATH.test(c.req.path)) return next()
  await next()
  if (!c.res.headers.get('content-type')?.startsWith('application/problem+json')) return
  const status = c.res.status
  const problem = (await c.res.json()) as Problem
  const body = openAIError({
    status,
    code: problem.code ?? 'internal',
    message: problem.detail ?? problem.title ?? 'Error',
    param: problem.errors?.[0]?.path,
  })
  c.res = new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=UTF-8' } })
})

export const OpenAIErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.enum(['invalid_request_error', 'rate_limit_error', 'server_error']),
      param: z.string().nullable().openapi({ description: 'The request field to blame, when there is one' }),
      code: z.string().openapi({ description: "EdgeChat's stable error code (unauthorized, forbidden, validation_failed, not_found, …)" }),
    }),
  })
  .openapi('OpenAIError')

const descriptions: Record<number, string> = {
  400: 'Invalid request (validation_failed)',
  401: 'Missing or invalid credentials (unauthorized)',
  403: 'Not allowed, e.g. an API key without the scope (forbidden)',
  404: 'Not found (not_found)',
  413: 'Body too large (payload_too_large)',
  415: 'Body is not application/json (unsupported_media_type)',
  429: 'Rate limited (rate_limited); see Retry-After',
  500: 'Unexpected error (internal)',
  502: 'Upstream model error (upstream_error)',
  504: 'Upstream model timed out (upstream_timeout)',
}

type ErrorResponses<S extends number> = { [K in S]: { description: string; content: { 'application/json': { schema: typeof OpenAIErrorSchema } } } }

/** Spread into an OpenAI-compatible route's `responses`: its errors, in OpenAI's shape (500 always included). */
export function openAIErrorResponses<S extends number>(...statuses: S[]): ErrorResponses<S> {
  return Object.fromEntries(
    [...new Set<number>([...statuses, 500])].map((status) => [
      status,
      { description: descriptions[status] ?? 'Error', content: { 'application/json': { schema: OpenAIErrorSchema } } },
    ]),
  ) as ErrorResponses<S>
}
