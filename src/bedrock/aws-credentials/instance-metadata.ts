import { AwsCredentialsError, credentialsFromJson, excerpt, fetchText, type AwsCredentials } from './credentials'

export const IMDS_ENDPOINT_IPV4 = 'http://169.254.169.254'
export const IMDS_ENDPOINT_IPV6 = 'http://[fd00:ec2::254]'

export interface InstanceMetadataOptions {
  /** AWS_EC2_METADATA_SERVICE_ENDPOINT, or the IPv4/IPv6 address per AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE. */
  endpoint?: string
  fetch?: typeof fetch
  /** Per call (token, role name, credentials): the AWS SDKs' 1 s, so a machine without IMDS fails fast. */
  timeoutMs?: number
  /** Lifetime asked for the IMDSv2 session token. */
  tokenTtlSeconds?: number
}

const SOURCE = 'instance-metadata'
const CREDENTIALS_PATH = '/latest/meta-data/iam/security-credentials/'

/**
 * The EC2 instance profile's role through IMDSv2 only: PUT a session token, then GET the role name and its
 * credentials with the token. (No IMDSv1 fallback: instances that require IMDSv2 are the recommended setup.)
 */
export function instanceMetadataCredentials(options: InstanceMetadataOptions = {}): () => Promise<AwsCredentials> {
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const endpoint = (options.endpoint ?? IMDS_ENDPOINT_IPV4).replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 1_000
  const ttl = String(options.tokenTtlSeconds ?? 21_600)

  async function call(what: string, path: string, init: RequestInit): Promise<string> {
    const url = `${endpoint}${path}`
    const { status, text } = await fetchText({ source: SOURCE, what, url, init, timeoutMs, fetch: send })
    if (status === 404 && path === CREDENTIALS_PATH) throw new AwsCredentialsError(SOURCE, 'EC2 instance metadata has no IAM role for this instance (attach an instance profile)')
    if (status < 200 || status > 299) throw new AwsCredentialsError(SOURCE, `${what} (${url}) answered HTTP ${status}: ${excerpt(text)}`)
    return text
  }

  return async () => {
    const token = (await call('the EC2 instance metadata token endpoint', '/latest/api/token', { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': ttl } })).trim()
    if (!token) throw new AwsCredentialsError(SOURCE, 'EC2 instance metadata returned an empty session token')
    const headers = { 'x-aws-ec2-metadata-token': token }
    const roles = await call('EC2 instance metadata', CREDENTIALS_PATH, { method: 'GET', headers })
    const role = roles.split('\n').map((line) => line.trim()).find(Boolean)
    if (!role) throw new AwsCredentialsError(SOURCE, 'EC2 instance metadata has no IAM role for this instance (attach an instance profile)')
    const what = `EC2 instance metadata credentials of role ${role}`
    const text = await call(what, `${CREDENTIALS_PATH}${encodeURIComponent(role)}`, { method: 'GET', headers })
    const code = parseCode(text)
    if (code !== undefined && code !== 'Success') throw new AwsCredentialsError(SOURCE, `${what}: Code ${code}`)
    return credentialsFromJson(SOURCE, what, text)
  }
}

function parseCode(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text)
    const code = body !== null && typeof body === 'object' ? (body as { Code?: unknown }).Code : undefined
    return typeof code === 'string' ? code : undefined
  } catch {
    return undefined
  }
}
