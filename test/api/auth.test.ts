import { SignJWT, UnsecuredJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_SECRET, createTestApp, expectProblem, type TestApp } from '../helpers'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

describe('register', () => {
  it('creates the user, a personal workspace and a token pair', async () => {
    const res = await t.request('POST', '/v1/auth/register', {
      body: { email: 'Zoë.Owner@Example.com', password: 'longenough', name: '  Zoë  ' },
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('x-request-id')).toMatch(/^req_/)
    const body = await res.json()
    // The name is kept exactly as sent (API.md: never trimmed); the email is an identifier, and is normalized.
    expect(body.user).toMatchObject({ email: 'zoë.owner@example.com', name: '  Zoë  ' })
    expect(body.user.id).toMatch(/^usr_[0-9A-Z]{26}$/)
    expect(body.workspace).toMatchObject({ role: 'owner', name: "  Zoë  's workspace" })
    expect(body.workspace.id).toMatch(/^ws_/)
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 })
    expect(body.refreshToken).toMatch(/^rt_/)
    expect(body.user.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it('rejects a second account with the same email in another case', async () => {
    const user = await t.register()
    const res = await t.request('POST', '/v1/auth/register', { body: { email: user.email.toUpperCase(), password: 'longenough' } })
    await expectProblem(res, 409, 'conflict')
  })

  it('stores the password hashed with PBKDF2-SHA256, 100k iterations and a per-user salt', async () => {
    const a = await t.register()
    const b = await t.register()
    const rows = await t.client.execute({ sql: 'select password_hash from users where id in (?, ?)', args: [a.user.id, b.user.id] })
    const [first, second] = rows.rows.map((row) => String(row.password_hash))
    expect(first).toMatch(/^pbkdf2-sha256\$100000\$/)
    expect(first).not.toContain(a.password)
    expect(first!.split('$')[2]).not.toBe(second!.split('$')[2])
  })

  it.each([
    [{}, 'email'],
    [{ email: 'not-an-email', password: 'longenough' }, 'email'],
    [{ email: 'a@b.co', password: 'short' }, 'password'],
    [{ email: 'a@b.co', password: 12345678 }, 'password'],
    [{ email: 'a@b.co', password: 'longenough', name: 'x'.repeat(201) }, 'name'],
    [{ email: "x'; drop table users;--@b.co", password: 'longenough' }, 'email'],
  ])('rejects bad input %j with the field path', async (body, path) => {
    const problem = await expectProblem(await t.request('POST', '/v1/auth/register', { body }), 400, 'validation_failed')
    expect((problem.errors as { path: string }[]).map((e) => e.path)).toContain(path)
  })

  it('treats SQL-looking and unicode names as plain text', async () => {
    const name = "Robert'); DROP TABLE users;-- 🦄 名前"
    const res = await t.request('POST', '/v1/auth/register', { body: { email: 'bobby@example.com', password: 'longenough', name } })
    expect(res.status).toBe(201)
    expect((await res.json()).user.name).toBe(name)
    const count = await t.client.execute('select count(*) as n from users')
    expect(Number(count.rows[0]!.n)).toBeGreaterThan(0)
  })

  it('can be disabled by configuration', async () => {
    const closed = await createTestApp({ ALLOW_REGISTRATION: 'false' })
    const res = await closed.request('POST', '/v1/auth/register', { body: { email: 'a@b.co', password: 'longenough' } })
    await expectProblem(res, 403, 'registration_closed')
    closed.close()
  })
})

describe('login', () => {
  it('returns a token pair that works on /v1/me', async () => {
    const user = await t.register()
    const res = await t.request('POST', '/v1/auth/login', { body: { email: user.email.toUpperCase(), password: user.password } })
    expect(res.status).toBe(200)
    const tokens = await res.json()
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 })
    const me = await t.request('GET', '/v1/me', { token: tokens.accessToken })
    expect(me.status).toBe(200)
    expect((await me.json()).user.id).toBe(user.user.id)
  })

  it('gives the same 401 for an unknown email and a wrong password', async () => {
    const user = await t.register()
    const wrong = await expectProblem(await t.request('POST', '/v1/auth/login', { body: { email: user.email, password: 'wrong password' } }), 401, 'unauthorized')
    const unknown = await expectProblem(await t.request('POST', '/v1/auth/login', { body: { email: 'nobody@example.com', password: 'wrong password' } }), 401, 'unauthorized')
    expect(wrong.detail).toBe(unknown.detail)
  })
})

describe('refresh and logout', () => {
  let strict: TestApp
  beforeAll(async () => {
    strict = await createTestApp({ REFRESH_REUSE_GRACE_SECONDS: '0' })
  })
  afterAll(() => strict.close())

  it('with no grace window, rotates refresh tokens and revokes the family when a rotated token is reused', async () => {
    const user = await strict.register()
    const first = await strict.request('POST', '/v1/auth/refresh', { body: { refreshToken: user.refreshToken } })
    expect(first.status).toBe(200)
    const pair = await first.json()
    expect(pair.refreshToken).not.toBe(user.refreshToken)

    await expectProblem(await strict.request('POST', '/v1/auth/refresh', { body: { refreshToken: user.refreshToken } }), 401, 'unauthorized')
    // The reuse revoked the whole family, including the token issued by the legitimate rotation.
    await expectProblem(await strict.request('POST', '/v1/auth/refresh', { body: { refreshToken: pair.refreshToken } }), 401, 'unauthorized')
  })

  it('with no grace window, treats two concurrent refreshes of one token as a reuse: no refresh token survives', async () => {
    const user = await strict.register()
    const results = await Promise.all([1, 2].map(() => strict.request('POST', '/v1/auth/refresh', { body: { refreshToken: user.refreshToken } })))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses[1]).toBe(401)
    // Whether or not the first got its pair before the reuse was seen, the family ends revoked, its successor included.
    for (const result of results.filter((r) => r.status === 200)) {
      const { refreshToken } = await result.json()
      await expectProblem(await strict.request('POST', '/v1/auth/refresh', { body: { refreshToken } }), 401, 'unauthorized')
    }
    const live = await strict.client.execute({ sql: 'select count(*) as n from refresh_tokens where user_id = ? and revoked_at is null', args: [user.user.id] })
    expect(Number(live.rows[0]!.n)).toBe(0)
  })

  it('logout revokes the refresh token', async () => {
    const user = await t.register()
    const res = await t.request('POST', '/v1/auth/logout', { body: { refreshToken: user.refreshToken } })
    expect(res.status).toBe(204)
    await expectProblem(await t.request('POST', '/v1/auth/refresh', { body: { refreshToken: user.refreshToken } }), 401, 'unauthorized')
    expect((await t.request('POST', '/v1/auth/logout', { body: { refreshToken: 'rt_unknown' } })).status).toBe(204)
  })

  it('rejects unknown and expired refresh tokens', async () => {
    await expectProblem(await t.request('POST', '/v1/auth/refresh', { body: { refreshToken: 'rt_nope' } }), 401, 'unauthorized')
    const user = await t.register()
    await t.client.execute({ sql: 'update refresh_tokens set expires_at = 0 where user_id = ?', args: [user.user.id] })
    await expectProblem(await t.request('POST', '/v1/auth/refresh', { body: { refreshToken: user.refreshToken } }), 401, 'unauthorized')
  })
})

describe('access tokens', () => {
  const secret = new TextEncoder().encode(TEST_SECRET)
  const sign = (claims: { sub: string; iss?: string; aud?: string; exp?: number }, key = secret) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.sub)
      .setIssuer(claims.iss ?? 'edgechat')
      .setAudience(claims.aud ?? 'edgechat-api')
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 60)
      .sign(key)

  it('accepts a well-formed token and rejects every forgery', async () => {
    const user = await t.register()
    const sub = user.user.id
    expect((await t.request('GET', '/v1/me', { token: await sign({ sub }) })).status).toBe(200)

    const [header, payload] = user.accessToken.split('.')
    const forged = [
      await sign({ sub }, new TextEncoder().encode('another-secret-that-is-long-enough-000000')),
      await sign({ sub, exp: Math.floor(Date.now() / 1000) - 10 }),
      await sign({ sub, iss: 'someone-else' }),
      await sign({ sub, aud: 'another-api' }),
      await sign({ sub: 'usr_does_not_exist' }),
      new UnsecuredJWT({ sub }).setIssuer('edgechat').setAudience('edgechat-api').setExpirationTime('1h').encode(),
      `${header}.${payload}.${'A'.repeat(43)}`,
      `${header}.${btoa(JSON.stringify({ sub: 'usr_other', iss: 'edgechat', aud: 'edgechat-api', exp: 9999999999 })).replace(/=/g, '')}.${user.accessToken.split('.')[2]}`,
      'not-a-jwt',
      'sk_not_a_real_key',
    ]
    for (const token of forged) await expectProblem(await t.request('GET', '/v1/me', { token }), 401, 'unauthorized')
  })

  it('rejects a malformed Authorization header', async () => {
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'token']) {
      await expectProblem(await t.request('GET', '/v1/me', { headers: { authorization } }), 401, 'unauthorized')
    }
  })
})

describe('/v1/me', () => {
  it('lists the caller and their workspaces with roles', async () => {
    const user = await t.register('Mia')
    const res = await user.call('GET', '/v1/me')
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.user).toEqual({ id: user.user.id, email: user.email, name: 'Mia', createdAt: expect.any(String) })
    expect(body.workspaces).toEqual([{ id: user.workspace.id, name: "Mia's workspace", role: 'owner' }])
  })
})
