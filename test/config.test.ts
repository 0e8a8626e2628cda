import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../src/config'

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
    [{ BEDROCK_EMULATOR: 'off' }, 'AWS_ACCESS_KEY_ID'],
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
})
