import { AwsCredentialsError, credentialsFromJson, excerpt, fetchText, type AwsCredentials, type ReadTextFile } from './credentials'

/** Where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is resolved (the ECS agent). */
export const ECS_CREDENTIALS_HOST = 'http://169.254.170.2'

export interface ContainerCredentialsOptions {
  /** AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (wins when both are set, as in the AWS SDKs). */
  relativeUri?: string
  /** AWS_CONTAINER_CREDENTIALS_FULL_URI */
  fullUri?: string
  /** AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: re-read on every refresh; wins over `authorizationToken`. */
  authorizationTokenFile?: string
  /** AWS_CONTAINER_AUTHORIZATION_TOKEN */
  authorizationToken?: string
  readFile?: ReadTextFile
  fetch?: typeof fetch
  timeoutMs?: number
}

const SOURCE = 'container'

/**
 * Why a FULL_URI may not be used, or undefined when it may: as in the AWS SDKs, plain HTTP only to loopback,
 * the ECS agent (169.254.170.2) or the EKS Pod Identity agent (169.254.170.23, fd00:ec2::23); HTTPS anywhere.
 */
export function containerUriProblem(uri: string): string | undefined {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return 'is not a URL'
  }
  if (url.protocol === 'https:') return undefined
  if (url.protocol !== 'http:') return 'must be an http: or https: URL'
  const host = url.hostname
  const allowed =
    host === '169.254.170.2' ||
    host === '169.254.170.23' ||
    host === '[fd00:ec2::23]' ||
    host === 'localhost' ||
    host === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  return allowed
    ? undefined
    : 'must use https, or http to a loopback address (127.0.0.0/8, ::1, localhost), 169.254.170.2 (ECS), or 169.254.170.23 / fd00:ec2::23 (EKS Pod Identity)'
}

/**
 * ECS task roles and EKS Pod Identity: GET the container credentials endpoint, with the authorization token
 * (if any) as the Authorization header, and read `{AccessKeyId, SecretAccessKey, Token, Expiration}`.
 */
export function containerCredentials(options: ContainerCredentialsOptions): () => Promise<AwsCredentials> {
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const url = options.relativeUri ? `${ECS_CREDENTIALS_HOST}${options.relativeUri}` : options.fullUri
  if (!url) throw new TypeError('container credentials need a relative or full URI')
  const problem = options.relativeUri ? undefined : containerUriProblem(url)
  if (problem) throw new AwsCredentialsError(SOURCE, `AWS_CONTAINER_CREDENTIALS_FULL_URI ${url} ${problem}`)
  const what = 'the container credentials endpoint'

  async function authorization(): Promise<string | undefined> {
    let token = options.authorizationToken
    if (options.authorizationTokenFile) {
      if (!options.readFile) throw new AwsCredentialsError(SOURCE, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE needs a file system (Node or Bun)')
      try {
        token = await options.readFile(options.authorizationTokenFile)
      } catch (error) {
        throw new AwsCredentialsError(
          SOURCE,
          `cannot read the container authorization token file ${options.authorizationTokenFile}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        )
      }
    }
    if (token === undefined) return undefined
    token = token.trim()
    if (!token || /[\r\n]/.test(token)) throw new AwsCredentialsError(SOURCE, 'the container authorization token is empty or spans several lines')
    return token
  }

  return async () => {
    const token = await authorization()
    const { status, text } = await fetchText({
      source: SOURCE,
      what,
      url,
      init: { method: 'GET', headers: token ? { authorization: token } : {} },
      timeoutMs: options.timeoutMs ?? 2_000,
      fetch: send,
    })
    if (status < 200 || status > 299) throw new AwsCredentialsError(SOURCE, `${what} (${url}) answered HTTP ${status}: ${excerpt(text)}`)
    return credentialsFromJson(SOURCE, what, text)
  }
}
