import { pbkdf2Sync, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app'
import { createBedrockEmulator } from '../../src/bedrock/emulator'
import { modelClientFromConfig } from '../../src/bedrock/model-client'
import { libsqlDatabase } from '../../src/db/libsql'
import { createTestApp, expectProblem, type TestApp } from '../helpers'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

const refresh = (app: TestApp, refreshToken: string) => app.request('POST', '/v1/auth/refresh', { body: { refreshToken } })
const login = (app: TestApp, email: string, password: string) => app.request('POST', '/v1/auth/login', { body: { email, password } })

/** An app over its own in-memory database whose clock the test moves. */
async function clockedApp(env: Record<string, string> = {}) {
  const clock = { now: Date.now() }
  const app = await createTestApp(env, { now: () => new Date(clock.now) })
  return { app, clock }
}

describe('refresh grace window', () => {
  it('gives five parallel refreshes of the same token the same new pair, and the family survives', async () => {
    const user = await t.register()
    const replies = await Promise.all([1, 2, 3, 4, 5].map(() => refresh(t, user.refreshToken)))
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200])
    const pairs = await Promise.all(replies.map((reply) => reply.json()))
    for (const pair of pairs) expect(pair).toEqual(pairs[0])
    expect(pairs[0].refreshToken).not.toBe(user.refreshToken)

    expect((await t.request('GET', '/v1/me', { token: pairs[0].accessToken })).status).toBe(200)
    const next = await refresh(t, pairs[0].refreshToken)
    expect(next.status).toBe(200)
    const rows = await t.client.execute({ sql: 'select revoked_at from refresh_tokens where user_id = ?', args: [user.user.id] })
    expect(rows.rows.every((row) => row.revoked_at === null)).toBe(true)
    expect(rows.rows).toHaveLength(3)
  })

  it('answers a reuse within the window with the same pair, and revokes the family after it', async () => {
    const { app, clock } = await clockedApp({ REFRESH_REUSE_GRACE_SECONDS: '10' })
    try {
      const user = await app.register()
      const first = await (await refresh(app, user.refreshToken)).json()
      clock.now += 9_000
      expect(await (await refresh(app, user.refreshToken)).json()).toEqual(first)

      clock.now += 1_000
      await expectProblem(await refresh(app, user.refreshToken), 401, 'unauthorized')
      // The reuse revoked the family, the successor included.
      await expectProblem(await refresh(app, first.refreshToken), 401, 'unauthorized')
    } finally {
      app.close()
    }
  })

  it('stores only hashes: the returned successor is nowhere in the database', async () => {
    const user = await t.register()
    const pair = await (await refresh(t, user.refreshToken)).json()
    const dump = await t.client.execute({ sql: 'select * from refresh_tokens where user_id = ?', args: [user.user.id] })
    expect(JSON.stringify(dump.rows)).not.toContain(pair.refreshToken.slice(3))
  })

  it('refuses a refresh reused within the window once the family was logged out', async () => {
    const user = await t.register()
    const pair = await (await refresh(t, user.refreshToken)).json()
    expect((await t.request('POST', '/v1/auth/logout', { body: { refreshToken: pair.refreshToken } })).status).toBe(204)
    await expectProblem(await refresh(t, user.refreshToken), 401, 'unauthorized')
  })
})

describe('POST /v1/auth/logout-all', () => {
  it("ends every session of the user at once: access and refresh tokens are 401, other users' are not", async () => {
    const user = await t.register()
    const other = await t.register()
    const second = await (await login(t, user.email, user.password)).json()
    expect((await t.request('GET', '/v1/me', { token: second.accessToken })).status).toBe(200)

    expect((await user.call('POST', '/v1/auth/logout-all')).status).toBe(204)

    for (const token of [user.accessToken, second.accessToken]) {
      await expectProblem(await t.request('GET', '/v1/me', { token }), 401, 'unauthorized')
    }
    for (const refreshToken of [user.refreshToken, second.refreshToken]) await expectProblem(await refresh(t, refreshToken), 401, 'unauthorized')
    expect((await other.call('GET', '/v1/me')).status).toBe(200)

    const fresh = await (await login(t, user.email, user.password)).json()
    expect((await t.request('GET', '/v1/me', { token: fresh.accessToken })).status).toBe(200)
  })

  it('needs a user token: anonymous is 401, an API key is 403', async () => {
    const user = await t.register()
    const { key } = await (await user.call('POST', '/v1/api-keys', { body: { name: 'ci' } })).json()
    await expectProblem(await t.request('POST', '/v1/auth/logout-all'), 401, 'unauthorized')
    await expectProblem(await t.request('POST', '/v1/auth/logout-all', { token: key }), 403, 'forbidden')
    expect((await user.call('GET', '/v1/me')).status).toBe(200)
  })

  it('reaches another process within the generation cache time (5 s), at once in its own', async () => {
    const clock = { now: Date.now() }
    const a = await createTestApp({}, { now: () => new Date(clock.now) })
    try {
      // A second app over the same database: another process, with its own caches.
      const b = createApp({ config: a.config, db: libsqlDatabase(a.client), now: () => new Date(clock.now), models: modelClientFromConfig(a.config, { emulator: createBedrockEmulator }).models })
      const user = await a.register()
      const onB = () => b.request('/v1/me', { headers: { authorization: `Bearer ${user.accessToken}` } })
      expect((await onB()).status).toBe(200)
      expect((await user.call('POST', '/v1/auth/logout-all')).status).toBe(204)
      await expectProblem(await user.call('GET', '/v1/me'), 401, 'unauthorized')
      expect((await onB()).status).toBe(200)
      clock.now += 5_000
      await expectProblem(await onB(), 401, 'unauthorized')
    } finally {
      a.close()
    }
  })
})

describe('POST /v1/me/password', () => {
  it('refuses a wrong current password with a 400 naming currentPassword, and changes nothing', async () => {
    const user = await t.register()
    const problem = await expectProblem(
      await user.call('POST', '/v1/me/password', { body: { currentPassword: 'not my password', newPassword: 'a brand new password' } }),
      400,
      'validation_failed',
    )
    expect((problem.errors as { path: string }[]).map((error) => error.path)).toEqual(['currentPassword'])
    expect((await user.call('GET', '/v1/me')).status).toBe(200)
    expect((await login(t, user.email, user.password)).status).toBe(200)
  })

  it('changes the password and ends every session; the new password signs in', async () => {
    const user = await t.register()
    const other = await (await login(t, user.email, user.password)).json()
    const res = await user.call('POST', '/v1/me/password', { body: { currentPassword: user.password, newPassword: 'a brand new password' } })
    expect(res.status).toBe(204)

    for (const token of [other.accessToken, user.accessToken]) await expectProblem(await t.request('GET', '/v1/me', { token }), 401, 'unauthorized')
    for (const refreshToken of [other.refreshToken, user.refreshToken]) await expectProblem(await refresh(t, refreshToken), 401, 'unauthorized')
    await expectProblem(await login(t, user.email, user.password), 401, 'unauthorized')
    const fresh = await login(t, user.email, 'a brand new password')
    expect(fresh.status).toBe(200)
    expect((await t.request('GET', '/v1/me', { token: (await fresh.json()).accessToken })).status).toBe(200)
  })

  it('validates the new password and refuses API keys', async () => {
    const user = await t.register()
    const short = await user.call('POST', '/v1/me/password', { body: { currentPassword: user.password, newPassword: 'short' } })
    const problem = await expectProblem(short, 400, 'validation_failed')
    expect((problem.errors as { path: string }[]).map((error) => error.path)).toContain('newPassword')
    const { key } = await (await user.call('POST', '/v1/api-keys', { body: { name: 'ci' } })).json()
    const body = { currentPassword: user.password, newPassword: 'a brand new password' }
    await expectProblem(await t.request('POST', '/v1/me/password', { token: key, body }), 403, 'forbidden')
  })
})

describe('emails', () => {
  it('are compared after NFKC: a fullwidth address and its ASCII form are one account', async () => {
    const local = `alice-${crypto.randomUUID().slice(0, 8)}`
    const fullwidth = `ａ${local.slice(1)}@ｅxample.com`
    const created = await t.request('POST', '/v1/auth/register', { body: { email: fullwidth, password: 'longenough' } })
    expect(created.status).toBe(201)
    expect((await created.json()).user.email).toBe(`${local}@example.com`)
    await expectProblem(await t.request('POST', '/v1/auth/register', { body: { email: `${local}@example.com`, password: 'longenough' } }), 409, 'conflict')
    for (const email of [fullwidth, `${local}@example.com`, `${local.toUpperCase()}@EXAMPLE.COM`]) {
      expect((await login(t, email, 'longenough')).status).toBe(200)
    }
  })

  it('have their domain in ASCII (IDNA)', async () => {
    const local = `bob-${crypto.randomUUID().slice(0, 8)}`
    const created = await t.request('POST', '/v1/auth/register', { body: { email: `${local}@Bücher.de`, password: 'longenough' } })
    expect(created.status).toBe(201)
    expect((await created.json()).user.email).toBe(`${local}@xn--bcher-kva.de`)
    expect((await login(t, `${local}@xn--bcher-kva.de`, 'longenough')).status).toBe(200)
  })

  it('refuse a trailing dot with a 400 naming email, on registration and on login', async () => {
    for (const path of ['/v1/auth/register', '/v1/auth/login']) {
      const problem = await expectProblem(
        await t.request('POST', path, { body: { email: 'alice@example.com.', password: 'longenough' } }),
        400,
        'validation_failed',
      )
      expect((problem.errors as { path: string }[]).map((error) => error.path)).toContain('email')
    }
  })
})

describe('password hashes', () => {
  const legacyHash = (password: string, iterations: number) => {
    const salt = randomBytes(16)
    const hash = pbkdf2Sync(password, salt, iterations, 32, 'sha256')
    return `pbkdf2-sha256$${iterations}$${salt.toString('base64url')}$${hash.toString('base64url')}`
  }

  it('refuses a stored hash with an absurd iteration count at once instead of computing it', async () => {
    const user = await t.register()
    const hostile = `pbkdf2-sha256$1000000000$${randomBytes(16).toString('base64url')}$${randomBytes(32).toString('base64url')}`
    await t.client.execute({ sql: 'update users set password_hash = ? where id = ?', args: [hostile, user.user.id] })
    await expectProblem(await login(t, user.email, user.password), 401, 'unauthorized')
  })

  it('upgrades a hash made with fewer iterations at the next login', async () => {
    const user = await t.register()
    await t.client.execute({ sql: 'update users set password_hash = ? where id = ?', args: [legacyHash(user.password, 1_000), user.user.id] })
    expect((await login(t, user.email, user.password)).status).toBe(200)
    const row = await t.client.execute({ sql: 'select password_hash from users where id = ?', args: [user.user.id] })
    expect(String(row.rows[0]!.password_hash)).toMatch(/^pbkdf2-sha256\$100000\$/)
    expect((await login(t, user.email, user.password)).status).toBe(200)
    await expectProblem(await login(t, user.email, 'wrong password'), 401, 'unauthorized')
  })
})
