import { toHex } from '../../lib/encoding'
import { timingSafeEqual } from '../../lib/crypto'

export interface VerifierCredentials {
  accessKeyId: string
  secretAccessKey: string
  /** When set, requests must carry it as X-Amz-Security-Token. */
  sessionToken?: string
}

export interface SignedRequest {
  method: string
  url: URL
  headers: Headers
  body: Uint8Array
}

export type VerifyResult =
  | { ok: true; accessKeyId: string; region: string }
  | { ok: false; type: 'InvalidSignatureException' | 'UnrecognizedClientException' | 'MissingAuthenticationTokenException'; message: string }

export interface SigV4VerifierOptions {
  credentials: VerifierCredentials[]
  service: string
  /** Only accept this region in the credential scope; any region when unset. */
  region?: string
  now?: () => number
  /** AWS rejects requests whose X-Amz-Date is more than 5 minutes away from its clock. */
  maxSkewMs?: number
}

const encoder = new TextEncoder()
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'

/**
 * Checks an `Authorization: AWS4-HMAC-SHA256 …` header the way AWS does: recomputes the canonical
 * request from what arrived (path, query, the signed headers, the body's SHA-256) and the signature
 * from the secret of the access key named in the credential scope.
 */
export function createSigV4Verifier(options: SigV4VerifierOptions): (request: SignedRequest) => Promise<VerifyResult> {
  const byAccessKey = new Map(options.credentials.map((credentials) => [credentials.accessKeyId, credentials]))
  const now = options.now ?? Date.now
  const maxSkewMs = options.maxSkewMs ?? 5 * 60_000
  const signingKeys = new Map<string, Promise<CryptoKey>>()

  function signingKey(secret: string, date: string, region: string, service: string): Promise<CryptoKey> {
    const cacheKey = `${secret}\n${date}\n${region}\n${service}`
    let key = signingKeys.get(cacheKey)
    if (!key) {
      key = (async () => {
        const kDate = await hmac(await importKey(encoder.encode(`AWS4${secret}`)), date)
        const kRegion = await hmac(await importKey(kDate), region)
        const kService = await hmac(await importKey(kRegion), service)
        return importKey(await hmac(await importKey(kService), 'aws4_request'))
      })()
      if (signingKeys.size > 100) signingKeys.clear()
      signingKeys.set(cacheKey, key)
    }
    return key
  }

  return async (request) => {
    const authorization = request.headers.get('authorization')
    if (!authorization) return { ok: false, type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' }
    const parsed = parseAuthorization(authorization)
    if (!parsed) return invalid('Authorization header requires Credential, SignedHeaders and Signature, signed with AWS4-HMAC-SHA256.')
    const { accessKeyId, date, region, service, signedHeaders, signature } = parsed

    const credentials = byAccessKey.get(accessKeyId)
    if (!credentials) return { ok: false, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }
    if (credentials.sessionToken !== undefined && request.headers.get('x-amz-security-token') !== credentials.sessionToken) {
      return { ok: false, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }
    }
    if (service !== options.service) return invalid(`Credential should be scoped to correct service: '${options.service}'.`)
    if (options.region !== undefined && region !== options.region) {
      return invalid(`Credential should be scoped to a valid region. (expected '${options.region}', got '${region}')`)
    }
    if (!signedHeaders.includes('host')) return invalid("'Host' must be a 'SignedHeader' in the AWS Authorization.")

    const amzDate = request.headers.get('x-amz-date') ?? ''
    const signedAt = parseAmzDate(amzDate)
    if (signedAt === undefined || amzDate.slice(0, 8) !== date) return invalid('X-Amz-Date must be a signed ISO-8601 basic date matching the credential scope.')
    if (Math.abs(now() - signedAt) > maxSkewMs) return invalid(`Signature expired: ${amzDate} is outside the allowed clock skew.`)

    const bodyHash = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', request.body as Uint8Array<ArrayBuffer>)))
    const declaredHash = request.headers.get('x-amz-content-sha256')
    if (declaredHash !== null && declaredHash !== 'UNSIGNED-PAYLOAD' && declaredHash !== bodyHash) {
      return invalid('The provided x-amz-content-sha256 header does not match what was computed.')
    }

    const canonicalRequest = [
      request.method.toUpperCase(),
      canonicalPath(request.url.pathname),
      canonicalQuery(request.url.searchParams),
      signedHeaders.map((name) => `${name}:${headerValue(request, name)}\n`).join(''),
      signedHeaders.join(';'),
      declaredHash ?? bodyHash,
    ].join('\n')
    const scope = `${date}/${region}/${service}/aws4_request`
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(canonicalRequest))))].join('\n')
    const key = await signingKey(credentials.secretAccessKey, date, region, service)
    const expected = toHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(stringToSign))))
    if (!timingSafeEqual(encoder.encode(expected), encoder.encode(signature))) return invalid(MISMATCH)
    return { ok: true, accessKeyId, region }
  }
}

function invalid(message: string): VerifyResult {
  return { ok: false, type: 'InvalidSignatureException', message }
}

function parseAuthorization(header: string) {
  const match = /^AWS4-HMAC-SHA256\s+(.+)$/.exec(header.trim())
  if (!match) return undefined
  const fields = new Map<string, string>()
  for (const field of match[1]!.split(/\s*,\s*/)) {
    const eq = field.indexOf('=')
    if (eq > 0) fields.set(field.slice(0, eq).trim(), field.slice(eq + 1).trim())
  }
  const credential = fields.get('Credential')?.split('/')
  const signedHeaders = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (!credential || credential.length !== 5 || credential[4] !== 'aws4_request' || !signedHeaders || !signature) return undefined
  const [accessKeyId, date, region, service] = credential as [string, string, string, string]
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature }
}

function parseAmzDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)
  if (!match) return undefined
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[]
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!)
}

function headerValue(request: SignedRequest, name: string): string {
  const value = request.headers.get(name) ?? (name === 'host' ? request.url.host : '')
  return value.trim().replace(/\s+/g, ' ')
}

/** The path as received, percent-encoded once more (AWS double-encodes for every service but S3). */
function canonicalPath(pathname: string): string {
  return encodeRfc3986(encodeURIComponent(pathname.replace(/\/+/g, '/')).replace(/%2F/g, '/'))
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .filter(([key]) => key !== '')
    .map(([key, value]) => [encodeRfc3986(encodeURIComponent(key)), encodeRfc3986(encodeURIComponent(value))] as const)
    .sort(([k1, v1], [k2, v2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&')
}

function encodeRfc3986(text: string): string {
  return text.replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
}

function importKey(raw: Uint8Array | ArrayBuffer): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
}

async function hmac(key: CryptoKey, data: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign('HMAC', key, encoder.encode(data))
}
