/**
 * Local stand-ins for the AWS credential endpoints, served over real HTTP on 127.0.0.1: STS
 * (AssumeRoleWithWebIdentity, XML), the ECS / EKS Pod Identity container endpoint (JSON), and EC2 instance metadata
 * (IMDSv2: a session token first). Each hands out fresh temporary credentials per call and records what it received.
 */
import { listen, type RunningServer } from './http-server'

export interface IssuedCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  expiration: string
}

export interface RecordedRequest {
  method: string
  path: string
  headers: Record<string, string>
  body: string
}

export interface StandIn extends RunningServer {
  requests: RecordedRequest[]
  issued: IssuedCredentials[]
  /** The most recent credentials handed out. */
  latest(): IssuedCredentials
  /** Makes the next answers fail (status and body), or succeed again with `undefined`. */
  failWith(failure: { status: number; body: string } | undefined): void
  /** Holds every answer until the returned function is called. */
  hold(): () => void
}

export interface StandInOptions {
  /** What "now" is for the Expiration handed out (defaults to the real clock). */
  now?: () => number
  lifetimeMs?: number
  prefix?: string
}

async function standIn(
  options: StandInOptions,
  answer: (request: RecordedRequest, issue: () => IssuedCredentials) => Response | Promise<Response>,
): Promise<StandIn> {
  const now = options.now ?? Date.now
  const lifetimeMs = options.lifetimeMs ?? 60 * 60_000
  const prefix = options.prefix ?? 'ASIA'
  const requests: RecordedRequest[] = []
  const issued: IssuedCredentials[] = []
  let failure: { status: number; body: string } | undefined
  let gate: Promise<void> | undefined
  const issue = () => {
    const n = issued.length + 1
    const credentials = {
      accessKeyId: `${prefix}STANDIN${String(n).padStart(4, '0')}`,
      secretAccessKey: `secret-${prefix}-${n}-${crypto.randomUUID()}`,
      sessionToken: `token/${prefix}+${n}=${crypto.randomUUID()}`,
      expiration: new Date(now() + lifetimeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }
    issued.push(credentials)
    return credentials
  }
  const server = await listen(async (request) => {
    const url = new URL(request.url)
    const recorded = {
      method: request.method,
      path: url.pathname + url.search,
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
    }
    requests.push(recorded)
    if (gate) await gate
    if (failure) return new Response(failure.body, { status: failure.status })
    return answer(recorded, issue)
  })
  return {
    ...server,
    requests,
    issued,
    latest: () => {
      const last = issued.at(-1)
      if (!last) throw new Error('no credentials issued yet')
      return last
    },
    failWith: (next) => (failure = next),
    hold: () => {
      let release!: () => void
      gate = new Promise((resolve) => (release = resolve))
      return () => {
        gate = undefined
        release()
      }
    },
  }
}

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** STS: POST / with the Query-protocol form; the token must be `expectedToken()`. */
export function startStsStandIn(options: StandInOptions & { expectedToken: () => string; roleArn: string }): Promise<StandIn> {
  return standIn(options, (request, issue) => {
    const form = new URLSearchParams(request.body)
    if (request.method !== 'POST' || request.path !== '/' || form.get('Action') !== 'AssumeRoleWithWebIdentity' || form.get('Version') !== '2011-06-15') {
      return new Response('<ErrorResponse><Error><Code>InvalidAction</Code><Message>bad request</Message></Error></ErrorResponse>', { status: 400 })
    }
    if (form.get('WebIdentityToken') !== options.expectedToken() || form.get('RoleArn') !== options.roleArn) {
      return new Response(
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>Couldn't retrieve verification key from your identity provider</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
        { status: 400, headers: { 'content-type': 'text/xml' } },
      )
    }
    const credentials = issue()
    const session = form.get('RoleSessionName') ?? ''
    return new Response(
      `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:chat:edgechat</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>${xmlEscape(options.roleArn.replace(':iam:', ':sts:').replace(':role/', ':assumed-role/'))}/${xmlEscape(session)}</Arn>
      <AssumedRoleId>AROA0000:${xmlEscape(session)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${xmlEscape(credentials.sessionToken)}</SessionToken>
      <SecretAccessKey>${xmlEscape(credentials.secretAccessKey)}</SecretAccessKey>
      <Expiration>${credentials.expiration}</Expiration>
      <AccessKeyId>${credentials.accessKeyId}</AccessKeyId>
    </Credentials>
    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`,
      { headers: { 'content-type': 'text/xml' } },
    )
  })
}

/** The container endpoint: GET `path`; when `expectedAuthorization()` gives a value, the Authorization header must equal it. */
export function startContainerStandIn(options: StandInOptions & { path: string; expectedAuthorization?: () => string | undefined }): Promise<StandIn> {
  return standIn(options, (request, issue) => {
    if (request.method !== 'GET' || request.path !== options.path) return Response.json({ code: 'NotFound', message: 'no such path' }, { status: 404 })
    const expected = options.expectedAuthorization?.()
    if (expected !== undefined && request.headers.authorization !== expected) {
      return Response.json({ code: 'AccessDeniedException', message: 'Unauthorized' }, { status: 401 })
    }
    const credentials = issue()
    return Response.json({
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      Token: credentials.sessionToken,
      AccountId: '123456789012',
      Expiration: credentials.expiration,
    })
  })
}

/** IMDSv2: PUT /latest/api/token (TTL header required), then token-authenticated GETs; 401 without the token. */
export function startImdsStandIn(options: StandInOptions & { role?: string } = {}): Promise<StandIn & { tokens: string[] }> {
  const tokens: string[] = []
  const role = options.role ?? 'edgechat-role'
  return standIn(options, (request, issue) => {
    if (request.path === '/latest/api/token') {
      if (request.method !== 'PUT') return new Response('', { status: 405 })
      const ttl = Number(request.headers['x-aws-ec2-metadata-token-ttl-seconds'])
      if (!(ttl >= 1 && ttl <= 21600)) return new Response('', { status: 400 })
      const token = `imds-${crypto.randomUUID()}`
      tokens.push(token)
      return new Response(token, { headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) } })
    }
    if (request.method !== 'GET') return new Response('', { status: 405 })
    if (!tokens.includes(request.headers['x-aws-ec2-metadata-token'] ?? '')) return new Response('', { status: 401 })
    const base = '/latest/meta-data/iam/security-credentials/'
    if (request.path === base) return options.role === '' ? new Response('', { status: 404 }) : new Response(`${role}\n`)
    if (request.path !== `${base}${role}`) return new Response('', { status: 404 })
    const credentials = issue()
    return Response.json({
      Code: 'Success',
      LastUpdated: new Date().toISOString(),
      Type: 'AWS-HMAC',
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      Token: credentials.sessionToken,
      Expiration: credentials.expiration,
    })
  }).then((server) => Object.assign(server, { tokens }))
}
