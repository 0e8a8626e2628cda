import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, type TestApp } from '../helpers'

const METRICS_TOKEN = 'metrics-token-0123456789abcdef'
const PRODUCTION = { NODE_ENV: 'production', BEDROCK_EMULATOR: 'on' }

let t: TestApp
let production: TestApp
beforeAll(async () => {
  t = await createTestApp()
  production = await createTestApp(PRODUCTION)
})
afterAll(() => {
  t.close()
  production.close()
})

function expectSecurityHeaders(res: Response) {
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.headers.get('referrer-policy')).toBe('no-referrer')
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
}

describe('security headers', () => {
  it('are on a JSON route, a problem and a 404, with a policy that allows nothing (pages: test/api/pages.test.ts)', async () => {
    const json = await t.request('GET', '/health')
    expectSecurityHeaders(json)
    expect(json.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
    const problem = await t.request('GET', '/v1/me')
    expectSecurityHeaders(problem)
    await expectProblem(problem, 401, 'unauthorized')
    const missing = await t.request('GET', '/nope')
    expectSecurityHeaders(missing)
    await expectProblem(missing, 404, 'not_found')
    const invalid = await t.request('POST', '/v1/auth/login', { body: '{' })
    expectSecurityHeaders(invalid)
  })

  it('include Strict-Transport-Security only for requests that came over HTTPS', async () => {
    expect((await t.request('GET', '/health')).headers.get('strict-transport-security')).toBeNull()
    const proxied = await t.request('GET', '/health', { headers: { 'x-forwarded-proto': 'https' } })
    expect(proxied.headers.get('strict-transport-security')).toBe('max-age=31536000')
    const direct = await t.app.request('https://api.example.com/v1/me')
    expect(direct.status).toBe(401)
    expect(direct.headers.get('strict-transport-security')).toBe('max-age=31536000')
    const plain = await t.request('GET', '/health', { headers: { 'x-forwarded-proto': 'http' } })
    expect(plain.headers.get('strict-transport-security')).toBeNull()
  })
})

describe('CORS', () => {
  const preflight = (app: TestApp, origin: string) =>
    app.request('OPTIONS', '/v1/me', {
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    })

  it('answers any origin with * outside production, never with credentials', async () => {
    const res = await t.request('GET', '/health', { headers: { origin: 'https://anywhere.example' } })
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('access-control-allow-credentials')).toBeNull()
  })

  it('in production without CORS_ORIGINS, allows no browser origin', async () => {
    const res = await production.request('GET', '/health', { headers: { origin: 'https://anywhere.example' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect((await preflight(production, 'https://anywhere.example')).headers.get('access-control-allow-origin')).toBeNull()
  })

  it('in production with CORS_ORIGINS, allows exactly those', async () => {
    const listed = await createTestApp({ ...PRODUCTION, CORS_ORIGINS: 'https://app.example.com' })
    try {
      expect((await preflight(listed, 'https://app.example.com')).headers.get('access-control-allow-origin')).toBe('https://app.example.com')
      expect((await preflight(listed, 'https://evil.example.com')).headers.get('access-control-allow-origin')).toBeNull()
      expect((await preflight(listed, 'https://app.example.com')).headers.get('access-control-allow-credentials')).toBeNull()
    } finally {
      listed.close()
    }
  })
})

describe('/ready and /metrics', () => {
  let guarded: TestApp
  beforeAll(async () => {
    guarded = await createTestApp({ ...PRODUCTION, METRICS_TOKEN })
  })
  afterAll(() => guarded.close())
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

  it('/ready tells an anonymous caller only whether it is ready; the metrics token shows the checks', async () => {
    for (const app of [guarded, production]) {
      const anonymous = await app.request('GET', '/ready')
      expect(anonymous.status).toBe(200)
      expect(await anonymous.json()).toEqual({ status: 'ok' })
    }
    expect(await (await guarded.request('GET', '/ready', bearer('wrong-token-0123456789'))).json()).toEqual({ status: 'ok' })
    const detailed = await (await guarded.request('GET', '/ready', bearer(METRICS_TOKEN))).json()
    expect(detailed.checks).toMatchObject({ database: { status: 'ok' }, streamState: { status: 'ok' }, bedrock: { status: 'ok' } })
  })

  it('/ready when not ready: anonymous callers get a bare 503, the token holder the failing checks', async () => {
    const broken = await createTestApp({ ...PRODUCTION, METRICS_TOKEN })
    broken.close()
    const anonymous = await expectProblem(await broken.request('GET', '/ready'), 503, 'not_ready')
    expect(anonymous.checks).toBeUndefined()
    expect(anonymous.detail).toBe('Not ready')
    const detailed = await expectProblem(await broken.request('GET', '/ready', bearer(METRICS_TOKEN)), 503, 'not_ready')
    expect(detailed.checks).toMatchObject({ database: { status: 'error' } })
  })

  it('/metrics in production without METRICS_TOKEN is not served', async () => {
    await expectProblem(await production.request('GET', '/metrics'), 404, 'not_found')
    await expectProblem(await production.request('GET', '/metrics', bearer('anything-at-all-0123')), 404, 'not_found')
  })

  it('/metrics with METRICS_TOKEN needs exactly that bearer token', async () => {
    for (const options of [{}, bearer('wrong-token-0123456789'), bearer(`${METRICS_TOKEN}x`), bearer(METRICS_TOKEN.slice(0, -1)), { headers: { authorization: METRICS_TOKEN } }]) {
      const res = await guarded.request('GET', '/metrics', options)
      await expectProblem(res, 401, 'unauthorized')
    }
    const ok = await guarded.request('GET', '/metrics', bearer(METRICS_TOKEN))
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toContain('text/plain')
  })

  it('/metrics outside production without METRICS_TOKEN stays open', async () => {
    expect((await t.request('GET', '/metrics')).status).toBe(200)
  })
})
