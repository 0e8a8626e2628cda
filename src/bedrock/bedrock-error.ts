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
  /** Bedrock's `x-amzn-requestid` of the failed call, when it answered. */
  requestId: string | undefined

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

/** Bedrock's ValidationException messages a user can act on, as our own wording (the rest stays generic). */
const FIXABLE_VALIDATIONS: [RegExp, string][] = [
  [/model identifier is invalid|model.*(not found|does not exist|isn't supported|is not supported)/i, 'The model rejected the request: the model identifier is invalid or not available'],
  [/too many images/i, 'The model rejected the request: it has too many images'],
  [/too many documents/i, 'The model rejected the request: it has too many documents'],
  [/image.*exceeds|image.*too large/i, 'The model rejected the request: an image is too large'],
  [/document.*exceeds|document.*too large/i, 'The model rejected the request: a document is too large'],
  [/too long|too many (input )?tokens|context (window|length)/i, 'The model rejected the request: the conversation is too long for this model'],
  [/max_?tokens|maxTokens/i, 'The model rejected the request: maxTokens is out of range for this model'],
  [/temperature|top_?p|topP|stop.?sequence/i, 'The model rejected the request: an inference setting is out of range for this model'],
]

/**
 * What our API says about a failed model call. Never Bedrock's own text: it can name ARNs, account ids and roles
 * (log that instead, with the request id). A ValidationException the user can fix gets a specific, generic message.
 */
export function publicMessage(error: unknown): string {
  const code = toApiErrorCode(error)
  if (code === 'rate_limited') return 'The model service is rate limiting requests'
  if (code === 'upstream_timeout') return 'The model service did not answer in time'
  if (code === 'validation_failed' && error instanceof BedrockError) {
    for (const [pattern, message] of FIXABLE_VALIDATIONS) if (pattern.test(error.message)) return message
    return 'The model rejected the request'
  }
  return 'The model service returned an error'
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
