import { AwsCredentialsError, excerpt, fetchText, parseTimestamp, type AwsCredentials, type ReadTextFile } from './credentials'
import { leafText, onlyElement, StsXmlError } from './sts-xml'

export interface WebIdentityOptions {
  /** AWS_WEB_IDENTITY_TOKEN_FILE: re-read on every refresh (Kubernetes rotates the projected token). */
  tokenFile: string
  /** AWS_ROLE_ARN */
  roleArn: string
  /** AWS_ROLE_SESSION_NAME; unset: `edgechat-<ms since the epoch>`. */
  sessionName?: string
  region: string
  /** AWS_ENDPOINT_URL_STS; unset: the regional endpoint `https://sts.<region>.amazonaws.com`. */
  endpoint?: string
  readFile: ReadTextFile
  fetch?: typeof fetch
  timeoutMs?: number
  now?: () => number
}

const SOURCE = 'web-identity'

/** The regional STS endpoint (`.amazonaws.com.cn` in the China regions). */
export function stsEndpoint(region: string): string {
  return `https://sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`
}

/**
 * EKS IAM roles for service accounts (and any OIDC federation): the token file's JWT is exchanged for role
 * credentials with STS AssumeRoleWithWebIdentity, an unsigned Query-protocol call answered in XML.
 */
export function webIdentityCredentials(options: WebIdentityOptions): () => Promise<AwsCredentials> {
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const now = options.now ?? Date.now
  const url = `${(options.endpoint ?? stsEndpoint(options.region)).replace(/\/+$/, '')}/`
  const what = 'STS AssumeRoleWithWebIdentity'

  return async () => {
    let token: string
    try {
      token = (await options.readFile(options.tokenFile)).trim()
    } catch (error) {
      throw new AwsCredentialsError(SOURCE, `cannot read the web identity token file ${options.tokenFile}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      })
    }
    if (!token) throw new AwsCredentialsError(SOURCE, `the web identity token file ${options.tokenFile} is empty`)
    const body = new URLSearchParams({
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: options.roleArn,
      RoleSessionName: options.sessionName ?? `edgechat-${now()}`,
      WebIdentityToken: token,
    })
    const { status, text } = await fetchText({
      source: SOURCE,
      what,
      url,
      init: { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: body.toString() },
      timeoutMs: options.timeoutMs ?? 5_000,
      fetch: send,
    })
    if (status < 200 || status > 299) throw new AwsCredentialsError(SOURCE, `${what} for ${options.roleArn} failed: HTTP ${status} ${stsErrorSummary(text)}`)
    try {
      return parseAssumeRoleWithWebIdentity(text)
    } catch (error) {
      if (!(error instanceof StsXmlError)) throw error
      throw new AwsCredentialsError(SOURCE, `${what} answered with an unexpected document (${error.message}): ${excerpt(text)}`, { cause: error })
    }
  }
}

/** The credentials in an AssumeRoleWithWebIdentityResponse document; throws StsXmlError on anything else. */
export function parseAssumeRoleWithWebIdentity(xml: string): AwsCredentials {
  const response = onlyElement(xml, 'AssumeRoleWithWebIdentityResponse')
  const credentials = onlyElement(onlyElement(response, 'AssumeRoleWithWebIdentityResult'), 'Credentials')
  const expiration = leafText(credentials, 'Expiration').trim()
  const expiresAt = parseTimestamp(expiration)
  if (expiresAt === undefined) throw new StsXmlError(`Expiration "${excerpt(expiration)}" is not an ISO 8601 time`)
  const value = (name: string) => {
    const text = leafText(credentials, name).trim()
    if (!text) throw new StsXmlError(`<${name}> is empty`)
    return text
  }
  return { accessKeyId: value('AccessKeyId'), secretAccessKey: value('SecretAccessKey'), sessionToken: value('SessionToken'), expiresAt }
}

/** `Code: Message` from an STS ErrorResponse, or an excerpt of whatever came back. */
function stsErrorSummary(text: string): string {
  try {
    const error = onlyElement(text, 'Error')
    return `${leafText(error, 'Code')}: ${leafText(error, 'Message')}`
  } catch {
    return excerpt(text)
  }
}
