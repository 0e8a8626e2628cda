export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  /** When temporary credentials stop working (ms since the epoch); unset for long-lived keys. */
  expiresAt?: number
}

/** Resolves the credentials to sign the next request with (cached and refreshed by the provider). */
export type AwsCredentialProvider = () => Promise<AwsCredentials>

export type AwsCredentialSourceName = 'environment' | 'web-identity' | 'container' | 'instance-metadata'

/** Credentials could not be obtained from `source`; the message says from where and why. */
export class AwsCredentialsError extends Error {
  override readonly name = 'AwsCredentialsError'

  constructor(
    readonly source: AwsCredentialSourceName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Reads a whole file as text: injected by the Node and Bun entries (Workers have no file system). */
export type ReadTextFile = (path: string) => Promise<string>

export interface MetadataRequest {
  source: AwsCredentialSourceName
  /** Names the call in errors, e.g. "the container credentials endpoint". */
  what: string
  url: string
  init: RequestInit
  timeoutMs: number
  fetch: typeof fetch
}

/** One HTTP call to a credentials endpoint, body included, bounded by `timeoutMs`; any failure is an AwsCredentialsError. */
export async function fetchText(request: MetadataRequest): Promise<{ status: number; text: string }> {
  const { source, what, url, timeoutMs } = request
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const response = await request.fetch(url, { ...request.init, signal, redirect: 'manual' })
    return { status: response.status, text: await response.text() }
  } catch (error) {
    if (signal.aborted) throw new AwsCredentialsError(source, `${what} (${url}) did not answer within ${timeoutMs} ms`, { cause: error })
    const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)
    throw new AwsCredentialsError(source, `${what} (${url}) could not be reached: ${reason}`, { cause: error })
  }
}

/** A short, single-line excerpt of an error body for messages. */
export function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}

/** An ISO 8601 timestamp (`2026-01-01T00:00:00Z`) as ms since the epoch, or undefined when it is not one. */
export function parseTimestamp(value: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * The JSON shape the container endpoint and EC2 instance metadata share:
 * `{AccessKeyId, SecretAccessKey, Token, Expiration}` (extra fields such as `Code`, `AccountId` are allowed).
 */
export function credentialsFromJson(source: AwsCredentialSourceName, what: string, text: string): AwsCredentials {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new AwsCredentialsError(source, `${what} answered with something that is not JSON: ${excerpt(text)}`)
  }
  const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {}
  const { AccessKeyId, SecretAccessKey, Token, Expiration } = fields
  const missing = Object.entries({ AccessKeyId, SecretAccessKey, Token, Expiration })
    .filter(([, value]) => typeof value !== 'string' || value === '')
    .map(([name]) => name)
  if (missing.length > 0) throw new AwsCredentialsError(source, `${what} answered without ${missing.join(', ')}`)
  const expiresAt = parseTimestamp(Expiration as string)
  if (expiresAt === undefined) throw new AwsCredentialsError(source, `${what} answered with an invalid Expiration: ${excerpt(String(Expiration))}`)
  return { accessKeyId: AccessKeyId as string, secretAccessKey: SecretAccessKey as string, sessionToken: Token as string, expiresAt }
}
