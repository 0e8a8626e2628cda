/**
 * The AWS credential chain against local stand-ins of STS, the container endpoint and EC2 instance metadata over
 * real HTTP, and the Bedrock emulator verifying each request's SigV4 signature and session token.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  awsCredentialChain,
  AwsCredentialsError,
  containerCredentials,
  instanceMetadataCredentials,
  parseAssumeRoleWithWebIdentity,
  refreshingProvider,
  type AwsCredentials,
  type CredentialHost,
} from '../../src/bedrock/aws-credentials'
import { BedrockError } from '../../src/bedrock/bedrock-error'
import { createBedrockEmulator } from '../../src/bedrock/emulator'
import { modelClientFromConfig } from '../../src/bedrock/model-client'
import { ConfigError, parseConfig } from '../../src/config'
import { createApp } from '../../src/app'
import { libsqlDatabase } from '../../src/db/libsql'
import { openDatabase } from '../../src/entries/local'
import { TEST_SECRET } from '../helpers'
import { startContainerStandIn, startImdsStandIn, startStsStandIn, type IssuedCredentials } from './aws-stand-ins'
import { listen, type RunningServer } from './http-server'

const ROLE_ARN = 'arn:aws:iam::123456789012:role/edgechat'
const MODEL = 'amazon.nova-lite-v1:0'
const readText = (path: string) => readFile(path, 'utf8')

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const dir = mkdtempSync(join(tmpdir(), 'edgechat-aws-credentials-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
function tokenFile(content: string): { path: string; write(next: string): void } {
  const path = join(dir, `token-${++files}`)
  writeFileSync(path, content)
  return { path, write: (next) => writeFileSync(path, next) }
}

async function track<T extends RunningServer>(server: Promise<T>): Promise<T> {
  const running = await server
  cleanups.push(() => running.close())
  return running
}

/** The emulator over HTTP, accepting only `accepted()` (looked up per request, as temporary credentials change). */
async function emulatorAccepting(accepted: () => IssuedCredentials[]): Promise<RunningServer> {
  return track(
    listen((request) => {
      const credentials = accepted().map(({ accessKeyId, secretAccessKey, sessionToken }) => ({ accessKeyId, secretAccessKey, sessionToken }))
      return createBedrockEmulator({ credentials, sleep: async () => {} }).fetch(request)
    }),
  )
}

/** The client as the Node and Bun entries build it: the whole credential chain, token files read from disk. */
function client(env: Record<string, string>, host: Omit<CredentialHost, 'readFile'> = {}) {
  const config = parseConfig({ LOG_LEVEL: 'silent', ...env })
  return modelClientFromConfig(config, { credentials: (settings) => awsCredentialChain(settings, { readFile: readText, ...host }) })
}

const ask = (text = 'Hello from a role') => ({ modelId: MODEL, messages: [{ role: 'user' as const, content: [{ text }] }], inferenceConfig: { maxTokens: 64 } })

describe('web identity (EKS IRSA)', () => {
  it('exchanges the token file with STS AssumeRoleWithWebIdentity and signs with the role credentials', async () => {
    const token = tokenFile('eyJhbGciOiJSUzI1NiJ9.irsa-token.sig\n')
    const sts = await track(startStsStandIn({ expectedToken: () => 'eyJhbGciOiJSUzI1NiJ9.irsa-token.sig', roleArn: ROLE_ARN }))
    const emulator = await emulatorAccepting(() => sts.issued)
    const choice = client({
      AWS_WEB_IDENTITY_TOKEN_FILE: token.path,
      AWS_ROLE_ARN: ROLE_ARN,
      AWS_ROLE_SESSION_NAME: 'chat-pod-1',
      AWS_ENDPOINT_URL_STS: sts.url,
      BEDROCK_ENDPOINT: emulator.url,
    })
    expect(choice.credentialSource).toBe('web-identity')
    const answer = await choice.models.converse(ask())
    expect(answer.stopReason).toBe('end_turn')
    expect(sts.requests).toHaveLength(1)
    const form = new URLSearchParams(sts.requests[0]!.body)
    expect(Object.fromEntries(form)).toEqual({
      Action: 'AssumeRoleWithWebIdentity',
      Version: '2011-06-15',
      RoleArn: ROLE_ARN,
      RoleSessionName: 'chat-pod-1',
      WebIdentityToken: 'eyJhbGciOiJSUzI1NiJ9.irsa-token.sig',
    })
    expect(sts.requests[0]!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/)
    await choice.models.converse(ask('again'))
    expect(sts.requests).toHaveLength(1) // cached
  })

  it('re-reads the token file when it refreshes (Kubernetes rotates it)', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z')
    let current = 'first-token'
    const token = tokenFile(current)
    const sts = await track(startStsStandIn({ expectedToken: () => current, roleArn: ROLE_ARN, now: () => now }))
    const chain = awsCredentialChain(parseConfig({ AWS_WEB_IDENTITY_TOKEN_FILE: token.path, AWS_ROLE_ARN: ROLE_ARN, AWS_ENDPOINT_URL_STS: sts.url }), {
      readFile: readText,
      now: () => now,
    })!
    const first = await chain.credentials()
    expect(first.accessKeyId).toBe(sts.issued[0]!.accessKeyId)
    current = 'second-token'
    token.write(current)
    now += 56 * 60_000 // inside the 5-minute window before the hour is up
    const second = await chain.credentials()
    expect(second.accessKeyId).toBe(sts.issued[1]!.accessKeyId)
    expect(new URLSearchParams(sts.requests[1]!.body).get('WebIdentityToken')).toBe('second-token')
    expect(new URLSearchParams(sts.requests[0]!.body).get('RoleSessionName')).toMatch(/^edgechat-\d+$/)
  })

  it('reports STS refusing the token as a credentials error, without retrying Bedrock calls', async () => {
    const token = tokenFile('stale-token')
    const sts = await track(startStsStandIn({ expectedToken: () => 'other', roleArn: ROLE_ARN }))
    const emulator = await emulatorAccepting(() => sts.issued)
    const { models } = client({ AWS_WEB_IDENTITY_TOKEN_FILE: token.path, AWS_ROLE_ARN: ROLE_ARN, AWS_ENDPOINT_URL_STS: sts.url, BEDROCK_ENDPOINT: emulator.url })
    const error = await models.converse(ask()).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(BedrockError)
    expect(error).toMatchObject({ type: 'CredentialsError', retryable: false })
    expect((error as Error).message).toMatch(/STS AssumeRoleWithWebIdentity for arn:aws:iam::123456789012:role\/edgechat failed: HTTP 400 InvalidIdentityToken: Couldn't retrieve/)
    expect(sts.requests).toHaveLength(1)
  })

  it('says which token file it cannot read', async () => {
    const chain = awsCredentialChain(parseConfig({ AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'missing'), AWS_ROLE_ARN: ROLE_ARN, AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9' }), {
      readFile: readText,
    })!
    await expect(chain.credentials()).rejects.toThrow(/cannot read the web identity token file .*missing: ENOENT/)
  })
})

describe('the STS response parser', () => {
  const document = (credentials: string) =>
    `<?xml version="1.0"?><AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials>${credentials}</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`
  const fields = '<AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s&amp;e&#x2F;c&#47;r&lt;t</SecretAccessKey><SessionToken> tok=&quot;&apos; </SessionToken><Expiration>2030-01-01T01:00:00Z</Expiration>'

  it('reads the four fields and decodes entities', () => {
    expect(parseAssumeRoleWithWebIdentity(document(fields))).toEqual({
      accessKeyId: 'ASIAX',
      secretAccessKey: 's&e/c/r<t',
      sessionToken: `tok="'`,
      expiresAt: Date.parse('2030-01-01T01:00:00Z'),
    })
  })

  it.each([
    ['a missing field', fields.replace(/<SessionToken>.*<\/SessionToken>/, '')],
    ['a repeated field', `${fields}<AccessKeyId>ASIAY</AccessKeyId>`],
    ['markup in a value', fields.replace('ASIAX', 'AS<b>IAX</b>')],
    ['an unknown entity', fields.replace('ASIAX', 'AS&nbsp;IAX')],
    ['a bare ampersand', fields.replace('ASIAX', 'AS&IAX')],
    ['an empty value', fields.replace('ASIAX', '')],
    ['a bad expiration', fields.replace('2030-01-01T01:00:00Z', 'tomorrow')],
  ])('refuses %s', (_, credentials) => {
    expect(() => parseAssumeRoleWithWebIdentity(document(credentials))).toThrow()
  })

  it('refuses a document that is not an AssumeRoleWithWebIdentityResponse', () => {
    expect(() => parseAssumeRoleWithWebIdentity(`<AssumeRoleResponse><AssumeRoleResult><Credentials>${fields}</Credentials></AssumeRoleResult></AssumeRoleResponse>`)).toThrow()
    expect(() => parseAssumeRoleWithWebIdentity(document(fields) + document(fields))).toThrow(/more than one/)
  })
})

describe('container credentials (ECS, EKS Pod Identity)', () => {
  it('GETs AWS_CONTAINER_CREDENTIALS_FULL_URI with the authorization token from the environment', async () => {
    const endpoint = await track(startContainerStandIn({ path: '/v1/credentials', expectedAuthorization: () => 'env-token' }))
    const emulator = await emulatorAccepting(() => endpoint.issued)
    const choice = client({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.url}/v1/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'env-token',
      BEDROCK_ENDPOINT: emulator.url,
    })
    expect(choice.credentialSource).toBe('container')
    expect((await choice.models.converse(ask())).stopReason).toBe('end_turn')
    expect(endpoint.requests).toMatchObject([{ method: 'GET', path: '/v1/credentials', headers: { authorization: 'env-token' } }])
  })

  it('re-reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE on every refresh, and it wins over the variable', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z')
    let expected = 'file-token-1'
    const file = tokenFile('file-token-1\n')
    const endpoint = await track(startContainerStandIn({ path: '/v1/credentials', expectedAuthorization: () => expected, now: () => now }))
    const chain = awsCredentialChain(
      parseConfig({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.url}/v1/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: file.path,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'ignored-env-token',
      }),
      { readFile: readText, now: () => now },
    )!
    await chain.credentials()
    expected = 'file-token-2'
    file.write('file-token-2')
    now += 58 * 60_000
    const refreshed = await chain.credentials()
    expect(refreshed.accessKeyId).toBe(endpoint.issued[1]!.accessKeyId)
    expect(endpoint.requests.map((request) => request.headers.authorization)).toEqual(['file-token-1', 'file-token-2'])
  })

  it('resolves AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against 169.254.170.2', async () => {
    const endpoint = await track(startContainerStandIn({ path: '/v2/credentials/task-1' }))
    const emulator = await emulatorAccepting(() => endpoint.issued)
    const asked: string[] = []
    const choice = client(
      { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/task-1', BEDROCK_ENDPOINT: emulator.url },
      {
        fetch: (input, init) => {
          const url = String(input)
          asked.push(url)
          return fetch(url.replace('http://169.254.170.2', endpoint.url), init)
        },
      },
    )
    expect((await choice.models.converse(ask())).stopReason).toBe('end_turn')
    expect(asked[0]).toBe('http://169.254.170.2/v2/credentials/task-1')
    expect(endpoint.requests[0]!.headers.authorization).toBeUndefined()
  })

  it('reports a refused token with the endpoint and status', async () => {
    const endpoint = await track(startContainerStandIn({ path: '/creds', expectedAuthorization: () => 'right' }))
    const provider = containerCredentials({ fullUri: `${endpoint.url}/creds`, authorizationToken: 'wrong' })
    await expect(provider()).rejects.toThrow(new RegExp(`container credentials endpoint \\(${endpoint.url}/creds\\) answered HTTP 401: .*Unauthorized`))
  })

  it('refuses a plain-HTTP full URI outside loopback and the ECS / EKS agents, and a multi-line token', async () => {
    expect(() => containerCredentials({ fullUri: 'http://10.1.2.3/creds' })).toThrow(AwsCredentialsError)
    const endpoint = await track(startContainerStandIn({ path: '/creds' }))
    const provider = containerCredentials({ fullUri: `${endpoint.url}/creds`, authorizationToken: 'a\nb' })
    await expect(provider()).rejects.toThrow(/spans several lines/)
    expect(endpoint.requests).toHaveLength(0)
  })

  it('refuses an answer missing a field', async () => {
    const server = await track(listen(() => Response.json({ AccessKeyId: 'ASIA', SecretAccessKey: 's', Expiration: '2030-01-01T00:00:00Z' })))
    await expect(containerCredentials({ fullUri: server.url })()).rejects.toThrow(/answered without Token/)
  })
})

describe('EC2 instance metadata (IMDSv2)', () => {
  it('with BEDROCK_EMULATOR=off: PUTs for a session token, then reads the role and its credentials with it', async () => {
    const imds = await track(startImdsStandIn())
    const emulator = await emulatorAccepting(() => imds.issued)
    const choice = client({ BEDROCK_EMULATOR: 'off', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, BEDROCK_ENDPOINT: emulator.url })
    expect(choice.credentialSource).toBe('instance-metadata')
    expect((await choice.models.converse(ask())).stopReason).toBe('end_turn')
    expect(imds.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      'GET /latest/meta-data/iam/security-credentials/edgechat-role',
    ])
    expect(imds.requests[0]!.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe('21600')
    expect(imds.requests[0]!.headers['x-aws-ec2-metadata-token']).toBeUndefined()
    expect(imds.requests[1]!.headers['x-aws-ec2-metadata-token']).toBe(imds.tokens[0])
    expect(imds.requests[2]!.headers['x-aws-ec2-metadata-token']).toBe(imds.tokens[0])
  })

  it('fails clearly when the instance has no role', async () => {
    const imds = await track(startImdsStandIn({ role: '' }))
    await expect(instanceMetadataCredentials({ endpoint: imds.url })()).rejects.toThrow(/no IAM role for this instance/)
  })

  it('fails clearly when the token PUT is refused (no IMDSv1 fallback)', async () => {
    const imds = await track(startImdsStandIn())
    imds.failWith({ status: 403, body: 'Forbidden' })
    await expect(instanceMetadataCredentials({ endpoint: imds.url })()).rejects.toThrow(/token endpoint .* answered HTTP 403/)
    expect(imds.requests).toHaveLength(1)
  })

  it('gives up on an endpoint that never answers after its timeout, and on one that is not there', async () => {
    const silent = await silentServer()
    const started = performance.now()
    await expect(instanceMetadataCredentials({ endpoint: silent, timeoutMs: 300 })()).rejects.toThrow(/did not answer within 300 ms/)
    expect(performance.now() - started).toBeLessThan(20_000)
    const closed = await closedPort()
    await expect(instanceMetadataCredentials({ endpoint: closed })()).rejects.toThrow(/could not be reached/)
  })
})

describe('the chain', () => {
  it('prefers static keys over web identity and container, and web identity over container', async () => {
    const sts = await track(startStsStandIn({ expectedToken: () => 'tok', roleArn: ROLE_ARN }))
    const container = await track(startContainerStandIn({ path: '/c' }))
    const emulator = await emulatorAccepting(() => [
      { accessKeyId: 'AKIASTATIC', secretAccessKey: 'static-secret', sessionToken: undefined as unknown as string, expiration: '' },
      ...sts.issued,
    ])
    const roles = { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile('tok').path, AWS_ROLE_ARN: ROLE_ARN, AWS_ENDPOINT_URL_STS: sts.url, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${container.url}/c` }
    const withKeys = client({ ...roles, AWS_ACCESS_KEY_ID: 'AKIASTATIC', AWS_SECRET_ACCESS_KEY: 'static-secret', BEDROCK_ENDPOINT: emulator.url, BEDROCK_EMULATOR: 'off' })
    expect(withKeys.credentialSource).toBe('environment')
    expect((await withKeys.models.converse(ask())).stopReason).toBe('end_turn')
    expect(sts.requests).toHaveLength(0)
    const withRoles = client({ ...roles, BEDROCK_ENDPOINT: emulator.url })
    expect(withRoles.credentialSource).toBe('web-identity')
    expect((await withRoles.models.converse(ask())).stopReason).toBe('end_turn')
    expect(sts.requests).toHaveLength(1)
    expect(container.requests).toHaveLength(0)
  })

  it('refuses role sources where only static keys are wired (Workers)', () => {
    const config = parseConfig({ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:1/c' })
    expect(() => modelClientFromConfig(config)).toThrow(ConfigError)
    expect(() => modelClientFromConfig(config)).toThrow(/container source needs Node or Bun; on Workers set AWS_ACCESS_KEY_ID/)
    expect(modelClientFromConfig(parseConfig({ AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's' })).credentialSource).toBe('environment')
  })

  it('names the role source in /ready', async () => {
    const config = parseConfig({ DATABASE_URL: ':memory:', JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:1/c', AWS_REGION: 'eu-west-3' })
    const database = await openDatabase(config)
    cleanups.push(() => database.close())
    const app = createApp({ config, db: libsqlDatabase(database), models: client({ DATABASE_URL: ':memory:', AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:1/c', AWS_REGION: 'eu-west-3' }).models })
    const { checks } = (await (await app.request('/ready')).json()) as { checks: Record<string, unknown> }
    expect(checks.bedrock).toMatchObject({ status: 'ok', message: 'Amazon Bedrock in eu-west-3, credentials from the container credentials endpoint' })
  })
})

describe('caching and refresh', () => {
  const T0 = Date.parse('2030-01-01T00:00:00Z')

  async function setup(lifetimeMs = 60 * 60_000) {
    const clock = { now: T0 }
    const endpoint = await track(startContainerStandIn({ path: '/c', now: () => clock.now, lifetimeMs }))
    const provider = refreshingProvider('container', containerCredentials({ fullUri: `${endpoint.url}/c` }), { now: () => clock.now })
    return { clock, endpoint, provider }
  }

  it('reuses credentials until 5 minutes before they expire, then fetches new ones', async () => {
    const { clock, endpoint, provider } = await setup()
    const first = await provider()
    clock.now = T0 + 54 * 60_000
    expect(await provider()).toBe(first)
    expect(endpoint.requests).toHaveLength(1)
    clock.now = T0 + 55 * 60_000 + 1_000
    const second = await provider()
    expect(second.accessKeyId).not.toBe(first.accessKeyId)
    expect(second.expiresAt).toBe(clock.now + 60 * 60_000)
    expect(endpoint.requests).toHaveLength(2)
  })

  it('makes one request for many concurrent callers', async () => {
    const { endpoint, provider } = await setup()
    const release = endpoint.hold()
    const pending = Array.from({ length: 20 }, () => provider())
    await waitFor(() => endpoint.requests.length === 1)
    release()
    const results = await Promise.all(pending)
    expect(new Set(results.map((credentials) => credentials.accessKeyId)).size).toBe(1)
    expect(endpoint.requests).toHaveLength(1)
  })

  it('keeps using unexpired credentials when a refresh fails, retries later, and fails once they expire', async () => {
    const { clock, endpoint, provider } = await setup()
    const first = await provider()
    endpoint.failWith({ status: 500, body: 'agent restarting' })
    clock.now = T0 + 57 * 60_000
    expect(await provider()).toBe(first)
    expect(endpoint.requests).toHaveLength(2)
    expect(await provider()).toBe(first) // within the retry delay: no new request
    expect(endpoint.requests).toHaveLength(2)
    clock.now += 11_000
    expect(await provider()).toBe(first)
    expect(endpoint.requests).toHaveLength(3)
    clock.now = T0 + 60 * 60_000
    await expect(provider()).rejects.toThrow(/answered HTTP 500: agent restarting/)
    endpoint.failWith(undefined)
    const recovered = await provider()
    expect(recovered.accessKeyId).not.toBe(first.accessKeyId)
  })

  it('does not fetch again on every call when handed credentials already inside the refresh window', async () => {
    const { clock, endpoint, provider } = await setup(2 * 60_000)
    await provider()
    await provider()
    expect(endpoint.requests).toHaveLength(1)
    clock.now += 11_000
    await provider()
    expect(endpoint.requests).toHaveLength(2)
  })

  it('refuses credentials that have already expired', async () => {
    const { provider } = await setup(5_000)
    await expect(provider()).rejects.toThrow(/too soon to use/)
  })

  it('keeps static credentials as they are', async () => {
    let loads = 0
    const fixed: AwsCredentials = { accessKeyId: 'AKIA', secretAccessKey: 's' }
    const provider = refreshingProvider('environment', async () => (loads++, fixed))
    await provider()
    await provider()
    expect(loads).toBe(1)
  })
})

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(condition()).toBe(true)
}

/** Accepts connections and never answers. */
async function silentServer(): Promise<string> {
  const server: Server = createServer(() => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function closedPort(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

