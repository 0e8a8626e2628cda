import type { ErrorCode } from '../errors'

/** HTTP status of each Bedrock Runtime error type (read from the SDK's error schemas). */
export const statusByErrorType: Readonly<Record<string, number>> = {
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
  AccessDeniedException: 403,
  InvalidSignatureException: 403,
  UnrecognizedClientException: 403,
  ExpiredTokenException: 403,
  MissingAuthenticationTokenException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ModelStreamErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
}

const RETRYABLE_STATUSES = new Set([408, 429, 500, 503])

/** Mid-stream exceptions worth retrying as a new turn; modelStreamErrorException is not (output was produced). */
const RETRYABLE_STREAM_EXCEPTIONS = new Set(['ThrottlingException', 'ServiceUnavailableException', 'InternalServerException'])

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status)
}

export interface BedrockErrorInit {
  type: string
  message: string
  status?: number
  retryable: boolean
  attempts?: number
  requestId?: string
  cause?: unknown
}

/**
 * A failure reported by Bedrock (HTTP error, mid-stream exception frame) or of the exchange itself
 * (`NetworkError`, `TruncatedStream`, `InvalidEventStream`, `InvalidResponse`).
 */
export class BedrockError extends Error {
  override readonly name = 'BedrockError'
  /** Bedrock's error type, PascalCase as in `x-amzn-errortype`, e.g. 'ThrottlingException'. */
  readonly type: string
  readonly status: number | undefined
  readonly retryable: boolean
  /** HTTP attempts made for the call that failed (retries included). */
  attempts: number
  readonly requestId: string | undefined

  constructor(init: BedrockErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause })
    this.type = init.type
    this.status = init.status
    this.retryable = init.retryable
    this.attempts = init.attempts ?? 1
    this.requestId = init.requestId
  }
}

/** Reads a non-2xx Bedrock response (header `x-amzn-errortype`, JSON `{message}`) into a BedrockError. */
export async function bedrockErrorFromResponse(response: Response, attempts = 1): Promise<BedrockError> {
  const text = await response.text()
  const body = parseJsonObject(text)
  const headerType = response.headers.get('x-amzn-errortype')
  const bodyType = typeof body?.__type === 'string' ? body.__type : typeof body?.code === 'string' ? body.code : undefined
  const type = cleanErrorType(headerType ?? bodyType) ?? typeForStatus(response.status)
  const message = typeof body?.message === 'string' ? body.message : typeof body?.Message === 'string' ? body.Message : text.slice(0, 500) || `HTTP ${response.status}`
  return new BedrockError({
    type,
    message,
    status: response.status,
    retryable: isRetryableStatus(response.status),
    attempts,
    requestId: response.headers.get('x-amzn-requestid') ?? undefined,
  })
}

/** A `:message-type: exception` frame (`:exception-type` is camelCase on the wire, e.g. throttlingException). */
export function bedrockErrorFromException(exceptionType: string, payload: string, attempts = 1): BedrockError {
  const type = exceptionType.charAt(0).toUpperCase() + exceptionType.slice(1)
  const body = parseJsonObject(payload)
  return new BedrockError({
    type,
    message: typeof body?.message === 'string' ? body.message : payload.slice(0, 500) || type,
    status: statusByErrorType[type],
    retryable: RETRYABLE_STREAM_EXCEPTIONS.has(type),
    attempts,
  })
}

export type UpstreamErrorCode = Extract<ErrorCode, 'rate_limited' | 'validation_failed' | 'upstream_timeout' | 'upstream_error'>

/** Our API's error code for a failed model call (BedrockError, or a timeout signalled by an AbortSignal). */
export function toApiErrorCode(error: unknown): UpstreamErrorCode {
  if (error instanceof BedrockError) {
    if (error.status === 429) return 'rate_limited'
    if (error.type === 'ValidationException') return 'validation_failed'
    if (error.status === 408) return 'upstream_timeout'
    return 'upstream_error'
  }
  if (error instanceof Error && error.name === 'TimeoutError') return 'upstream_timeout'
  return 'upstream_error'
}

/** `ThrottlingException:http://internal.amazon.com/...` or `aws.protocol#ThrottlingException` → `ThrottlingException`. */
function cleanErrorType(raw: string | null | undefined): string | undefined {
  if (!raw) return undefined
  let type = raw
  const colon = type.indexOf(':')
  if (colon >= 0) type = type.slice(0, colon)
  const hash = type.lastIndexOf('#')
  if (hash >= 0) type = type.slice(hash + 1)
  type = type.trim()
  return type || undefined
}

function typeForStatus(status: number): string {
  for (const [type, typeStatus] of Object.entries(statusByErrorType)) if (typeStatus === status) return type
  return 'UnknownError'
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trimStart()
  if (!trimmed.startsWith('{')) return undefined
  try {
    const value: unknown = JSON.parse(trimmed)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
