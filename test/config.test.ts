import { describe, expect, it } from 'vitest'
import { awsCredentialSource, ConfigError, parseConfig, usesBedrockEmulator } from '../src/config'

describe('parseConfig', () => {
  it('has working defaults', () => {
    const config = parseConfig({})
    expect(config).toMatchObject({
      PORT: 8787,
      DATABASE_URL: 'file:./data/edgechat.db',
      ACCESS_TOKEN_TTL: 900,
      REFRESH_TOKEN_TTL: 30 * 86400,
      ALLOW_REGISTRATION: true,
      CORS_ORIGINS: [],
      LOG_LEVEL: 'info',
      MAX_BODY_BYTES: 1048576,
      MAX_TURN_BODY_BYTES: 25 * 1048576,
    })
  })

  it('parses durations, booleans and lists', () => {
    const config = parseConfig({ ACCESS_TOKEN_TTL: '90', REFRESH_TOKEN_TTL: '12h', ALLOW_REGISTRATION: 'no', CORS_ORIGINS: 'https://a.com, https://b.com,' })
    expect(config).toMatchObject({ ACCESS_TOKEN_TTL: 90, REFRESH_TOKEN_TTL: 43200, ALLOW_REGISTRATION: false, CORS_ORIGINS: ['https://a.com', 'https://b.com'] })
  })

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ ACCESS_TOKEN_TTL: '15 minutes' }, 'ACCESS_TOKEN_TTL'],
    [{ ALLOW_REGISTRATION: 'maybe' }, 'ALLOW_REGISTRATION'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET'],
    [{ OIDC_ISSUER: 'not a url', OIDC_AUDIENCE: 'x' }, 'OIDC_ISSUER'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ MAX_BODY_BYTES: '-1' }, 'MAX_BODY_BYTES'],
    [{ BEDROCK_EMULATOR: 'off', AWS_EC2_METADATA_DISABLED: 'true' }, 'BEDROCK_EMULATOR'],
    [{ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }, 'BEDROCK_EMULATOR'],
    [{ AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/chat' }, 'AWS_WEB_IDENTITY_TOKEN_FILE'],
    [{ AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token' }, 'AWS_ROLE_ARN'],
    [{ AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token', AWS_ROLE_ARN: 'chat' }, 'AWS_ROLE_ARN'],
    [{ AWS_WEB_IDENTITY_TOKEN_FILE: '/t', AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/chat', AWS_ROLE_SESSION_NAME: 'a b' }, 'AWS_ROLE_SESSION_NAME'],
    [{ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://10.0.0.1/creds' }, 'AWS_CONTAINER_CREDENTIALS_FULL_URI'],
    [{ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.169.254/creds' }, 'AWS_CONTAINER_CREDENTIALS_FULL_URI'],
    [{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: 'v2/credentials' }, 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'],
    [{ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'ipv5' }, 'AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE'],
    [{ AWS_ACCESS_KEY_ID: 'AKIA0000' }, 'AWS_SECRET_ACCESS_KEY'],
    [{ BEDROCK_ENDPOINT: 'not a url' }, 'BEDROCK_ENDPOINT'],
    [{ BEDROCK_ENDPOINT: 'http://127.0.0.1:4010' }, 'AWS_ACCESS_KEY_ID'],
    [{ MODEL_IDS: 'a,b' }, 'DEFAULT_MODEL_ID'],
  ])('fails closed on %j naming %s', (source, name) => {
    expect(() => parseConfig(source)).toThrow(ConfigError)
    expect(() => parseConfig(source)).toThrow(new RegExp(`^\\s*${name}:`, 'm'))
  })

  it('ignores empty strings as unset', () => {
    expect(parseConfig({ PORT: '', JWT_SECRET: '' }).PORT).toBe(8787)
  })

  it('tells production without credentials how to set them, roles included', () => {
    expect(() => parseConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) })).toThrow(
      /BEDROCK_EMULATOR: no AWS credentials are set in production: .*AWS_WEB_IDENTITY_TOKEN_FILE \+ AWS_ROLE_ARN.*AWS_CONTAINER_CREDENTIALS_FULL_URI.*BEDROCK_EMULATOR=off to use the EC2 instance role/,
    )
  })
})

describe('AWS credential sources', () => {
  const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }
  const webIdentity = { AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token', AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/chat' }
  const container = { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc' }
  const podIdentity = { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials', AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/var/run/token' }
  const keys = { AWS_ACCESS_KEY_ID: 'AKIA0000', AWS_SECRET_ACCESS_KEY: 'secret' }

  it('follows the default chain: API key, static keys, web identity, container, then instance metadata', () => {
    const all = { ...keys, ...webIdentity, ...container, BEDROCK_EMULATOR: 'off' }
    expect(awsCredentialSource(parseConfig({ ...all, AWS_BEARER_TOKEN_BEDROCK: 'k' }))).toBe('api-key')
    expect(awsCredentialSource(parseConfig(all))).toBe('environment')
    expect(awsCredentialSource(parseConfig({ ...webIdentity, ...container }))).toBe('web-identity')
    expect(awsCredentialSource(parseConfig(container))).toBe('container')
    expect(awsCredentialSource(parseConfig(podIdentity))).toBe('container')
    expect(awsCredentialSource(parseConfig({ BEDROCK_EMULATOR: 'off' }))).toBe('instance-metadata')
    expect(awsCredentialSource(parseConfig({}))).toBeUndefined()
  })

  it('counts web identity and container variables as credentials in auto mode, but not the unprobed instance metadata', () => {
    expect(usesBedrockEmulator(parseConfig(webIdentity))).toBe(false)
    expect(usesBedrockEmulator(parseConfig(container))).toBe(false)
    expect(usesBedrockEmulator(parseConfig(podIdentity))).toBe(false)
    expect(usesBedrockEmulator(parseConfig({}))).toBe(true)
    expect(usesBedrockEmulator(parseConfig({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1' }))).toBe(true)
  })

  it('starts in production with a role and no keys', () => {
    expect(parseConfig({ ...production, ...webIdentity }).BEDROCK_EMULATOR).toBe('auto')
    expect(parseConfig({ ...production, ...container }).BEDROCK_EMULATOR).toBe('auto')
    expect(parseConfig({ ...production, ...podIdentity, BEDROCK_ENDPOINT: 'https://vpce.example.com' }).BEDROCK_ENDPOINT).toBe('https://vpce.example.com')
  })

  it('lets BEDROCK_EMULATOR=off use the chain down to EC2 instance metadata, with no variables at all', () => {
    const config = parseConfig({ ...production, BEDROCK_EMULATOR: 'off', BEDROCK_ENDPOINT: 'https://vpce.example.com' })
    expect(usesBedrockEmulator(config)).toBe(false)
    expect(awsCredentialSource(config)).toBe('instance-metadata')
  })

  it.each([
    'http://127.0.0.1:8080/creds',
    'http://127.8.9.10/creds',
    'http://localhost:9000/',
    'http://[::1]:9000/',
    'http://169.254.170.2/v2/credentials',
    'http://169.254.170.23/v1/credentials',
    'http://[fd00:ec2::23]/v1/credentials',
    'https://credentials.example.com/role',
  ])('accepts the container full URI %s', (uri) => {
    expect(parseConfig({ AWS_CONTAINER_CREDENTIALS_FULL_URI: uri }).AWS_CONTAINER_CREDENTIALS_FULL_URI).toBe(uri)
  })
})
