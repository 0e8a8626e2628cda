// Identity flows through the Worker entry inside workerd, on a real (local) D1 database.
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { PASSWORD, call, expectProblem, register, sha256Hex, uniqueEmail } from './helpers'

describe('workers: health and errors', () => {
  it('GET /health answers 200 with a request id', async () => {
    const reply = await call('GET', '/health')
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ status: 'ok' })
    expect(reply.headers.get('x-request-id')).toMatch(/^req_/)
  })

  it('GET /ready reaches D1', async () => {
    const reply = await call('GET', '/ready', { token: env.METRICS_TOKEN })
    expect(reply.status, reply.text).toBe(200)
    expect(reply.body.checks.database.status).toBe('ok')
    expect((await call('GET', '/ready')).body).toEqual({ status: 'ok' })
  })

  it('an unknown route is a 404 problem (under /v1 only once authenticated)', async () => {
    expectProblem(await call('GET', '/nope'), 404, 'not_found')
    expectProblem(await call('GET', '/v1/nope'), 401, 'unauthorized')
    const { accessToken } = await register('notfound')
    expectProblem(await call('GET', '/v1/nope', { token: accessToken }), 404, 'not_found')
  })

  it('malformed JSON is 400 validation_failed', async () => {
    const reply = await call('POST', '/v1/auth/login', { body: '{"email": "a@example.com",', headers: { 'content-type': 'application/json' } })
    expectProblem(reply, 400, 'validation_failed')
  })

  it('a text/plain body is 415', async () => {
    const reply = await call('POST', '/v1/auth/register', { body: 'email=a@example.com', headers: { 'content-type': 'text/plain' } })
    expectProblem(reply, 415, 'unsupported_media_type')
  })

  it('a protected route without a token is 401', async () => {
    const reply = await call('GET', '/v1/me')
    expectProblem(reply, 401, 'unauthorized')
    expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/)
  })
})

describe('workers: registration and login', () => {
  it('registers: 201 with user, personal workspace and tokens, and the rows land in D1', async () => {
    const email = uniqueEmail('Reg')
    const reply = await call('POST', '/v1/auth/register', { json: { email, password: PASSWORD, name: 'Ada' } })
    expect(reply.status, reply.text).toBe(201)
    expect(reply.body).toMatchObject({
      user: { id: expect.stringMatching(/^usr_/), email: email.toLowerCase(), name: 'Ada', createdAt: expect.any(String) },
      workspace: { id: expect.stringMatching(/^ws_/), name: "Ada's workspace", role: 'owner' },
      accessToken: expect.stringMatching(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/),
      refreshToken: expect.stringMatching(/^rt_/),
      tokenType: 'Bearer',
      expiresIn: 900,
    })
    const { user, workspace, refreshToken } = reply.body

    const row = await env.DB.prepare('SELECT id, email, name, password_hash FROM users WHERE id = ?').bind(user.id).first<{
      id: string
      email: string
      name: string
      password_hash: string
    }>()
    expect(row).toMatchObject({ id: user.id, email: email.toLowerCase(), name: 'Ada' })
    expect(row?.password_hash).toMatch(/^pbkdf2-sha256\$\d+\$/)
    expect(row?.password_hash).not.toContain(PASSWORD)

    const membership = await env.DB.prepare('SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?')
      .bind(workspace.id, user.id)
      .first<{ role: string }>()
    expect(membership?.role).toBe('owner')
    const personal = await env.DB.prepare('SELECT personal FROM workspaces WHERE id = ?').bind(workspace.id).first<{ personal: number }>()
    expect(personal?.personal).toBe(1)

    // Refresh tokens are stored hashed, never in the clear.
    const token = await env.DB.prepare('SELECT user_id, token_hash FROM refresh_tokens WHERE token_hash = ?')
      .bind(await sha256Hex(refreshToken))
      .first<{ user_id: string }>()
    expect(token?.user_id).toBe(user.id)
    const leaked = await env.DB.prepare('SELECT count(*) AS n FROM refresh_tokens WHERE token_hash = ?').bind(refreshToken).first<{ n: number }>()
    expect(leaked?.n).toBe(0)
  })

  it('a duplicate email in another case is 409 conflict', async () => {
    const { email } = await register('dup')
    const reply = await call('POST', '/v1/auth/register', { json: { email: email.toUpperCase(), password: PASSWORD } })
    expectProblem(reply, 409, 'conflict')
    const count = await env.DB.prepare('SELECT count(*) AS n FROM users WHERE email = ?').bind(email.toLowerCase()).first<{ n: number }>()
    expect(count?.n).toBe(1)
  })

  it('logs in with the right password', async () => {
    const { email, userId } = await register('login')
    const reply = await call('POST', '/v1/auth/login', { json: { email, password: PASSWORD } })
    expect(reply.status, reply.text).toBe(200)
    expect(reply.body).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), refreshToken: expect.stringMatching(/^rt_/) })
    const me = await call('GET', '/v1/me', { token: reply.body.accessToken })
    expect(me.body.user.id).toBe(userId)
  })

  it('a wrong password and an unknown email get the same 401', async () => {
    const { email } = await register('wrongpw')
    const wrong = expectProblem(await call('POST', '/v1/auth/login', { json: { email, password: 'not the password' } }), 401, 'unauthorized')
    const unknown = expectProblem(
      await call('POST', '/v1/auth/login', { json: { email: uniqueEmail('nobody'), password: PASSWORD } }),
      401,
      'unauthorized',
    )
    expect(unknown.detail).toBe(wrong.detail)
    const { requestId: _a, ...wrongRest } = wrong
    const { requestId: _b, ...unknownRest } = unknown
    expect(unknownRest).toEqual(wrongRest)
  })

  it('GET /v1/me with the access token returns the user and their workspaces', async () => {
    const { accessToken, userId, workspaceId, email } = await register('me', 'Grace')
    const reply = await call('GET', '/v1/me', { token: accessToken })
    expect(reply.status, reply.text).toBe(200)
    expect(reply.body).toEqual({
      user: { id: userId, email: email.toLowerCase(), name: 'Grace', createdAt: expect.any(String) },
      workspaces: [{ id: workspaceId, name: "Grace's workspace", role: 'owner' }],
    })
  })
})

describe('workers: tokens', () => {
  it('refresh rotates; reusing the old token within the grace window gives the same pair, after it 401 and revokes the whole family', async () => {
    const { refreshToken: first } = await register('refresh')
    const rotated = await call('POST', '/v1/auth/refresh', { json: { refreshToken: first } })
    expect(rotated.status, rotated.text).toBe(200)
    const second: string = rotated.body.refreshToken
    expect(second).toMatch(/^rt_/)
    expect(second).not.toBe(first)
    const me = await call('GET', '/v1/me', { token: rotated.body.accessToken })
    expect(me.status).toBe(200)

    const again = await call('POST', '/v1/auth/refresh', { json: { refreshToken: first } })
    expect(again.body, again.text).toEqual(rotated.body)
    // Move the rotation out of the grace window (REFRESH_REUSE_GRACE_SECONDS, 10 by default).
    await env.DB.prepare('UPDATE refresh_tokens SET rotated_at = rotated_at - 11000 WHERE token_hash = ?').bind(await sha256Hex(first)).run()
    expectProblem(await call('POST', '/v1/auth/refresh', { json: { refreshToken: first } }), 401, 'unauthorized')
    // The reuse revoked the family: the newest token is dead too.
    expectProblem(await call('POST', '/v1/auth/refresh', { json: { refreshToken: second } }), 401, 'unauthorized')

    const family = await env.DB.prepare(
      'SELECT count(*) AS total, sum(revoked_at IS NOT NULL) AS revoked FROM refresh_tokens WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = ?)',
    )
      .bind(await sha256Hex(second))
      .first<{ total: number; revoked: number }>()
    expect(family).toEqual({ total: 2, revoked: 2 })
  })

  it('a forged access token (signature changed) is 401', async () => {
    const { accessToken } = await register('forged')
    const [header, payload, signature] = accessToken.split('.') as [string, string, string]
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`
    const forged = await call('GET', '/v1/me', { token: `${header}.${payload}.${flipped}` })
    expectProblem(forged, 401, 'unauthorized')

    // And an unsigned token claiming the same subject.
    const none = btoa(JSON.stringify({ alg: 'none', typ: 'JWT' })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
    expectProblem(await call('GET', '/v1/me', { token: `${none}.${payload}.` }), 401, 'unauthorized')
  })
})

describe('workers: API keys', () => {
  it('create → works as a bearer; list has no secret; delete → stops working', async () => {
    const { accessToken, userId } = await register('keys')
    const created = await call('POST', '/v1/api-keys', { token: accessToken, json: { name: 'ci' } })
    expect(created.status, created.text).toBe(201)
    const key: string = created.body.key
    expect(key).toMatch(/^sk_/)
    expect(key.startsWith(created.body.prefix)).toBe(true)

    const me = await call('GET', '/v1/me', { token: key })
    expect(me.status, me.text).toBe(200)
    expect(me.body.user.id).toBe(userId)

    const list = await call('GET', '/v1/api-keys', { token: accessToken })
    expect(list.status).toBe(200)
    expect(list.body.data).toHaveLength(1)
    expect(list.body.data[0]).toMatchObject({ id: created.body.id, name: 'ci', prefix: created.body.prefix })
    expect(list.body.data[0]).not.toHaveProperty('key')
    expect(list.text).not.toContain(key)

    const stored = await env.DB.prepare('SELECT key_hash FROM api_keys WHERE id = ?').bind(created.body.id).first<{ key_hash: string }>()
    expect(stored?.key_hash).toBe(await sha256Hex(key))

    const removed = await call('DELETE', `/v1/api-keys/${created.body.id}`, { token: accessToken })
    expect(removed.status, removed.text).toBe(204)
    expectProblem(await call('GET', '/v1/me', { token: key }), 401, 'unauthorized')
    const gone = await env.DB.prepare('SELECT count(*) AS n FROM api_keys WHERE id = ?').bind(created.body.id).first<{ n: number }>()
    expect(gone?.n).toBe(0)
  })
})

describe('workers: API key scopes', () => {
  it('a key cannot mint keys; a read key reads but cannot chat', async () => {
    const { accessToken } = await register('scopes')
    const created = await call('POST', '/v1/api-keys', { token: accessToken, json: { name: 'reader', scopes: ['read'] } })
    expect(created.status, created.text).toBe(201)
    expect(created.body.scopes).toEqual(['read'])
    const key: string = created.body.key
    expectProblem(await call('POST', '/v1/api-keys', { token: key, json: { name: 'child' } }), 403, 'forbidden')
    expect((await call('GET', '/v1/conversations', { token: key })).status).toBe(200)
    expectProblem(await call('POST', '/v1/conversations', { token: key, json: {} }), 403, 'forbidden')
    const stored = await env.DB.prepare('SELECT scopes FROM api_keys WHERE id = ?').bind(created.body.id).first<{ scopes: string }>()
    expect(JSON.parse(stored!.scopes)).toEqual(['read'])
  })
})

describe('workers: workspaces', () => {
  it('create a workspace, invite a second user by email; once they accept they see it in /v1/me', async () => {
    const owner = await register('owner')
    const member = await register('member')
    const created = await call('POST', '/v1/workspaces', { token: owner.accessToken, json: { name: 'Team Edge' } })
    expect(created.status, created.text).toBe(201)
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^ws_/), name: 'Team Edge', role: 'owner' })

    const invited = await call('POST', `/v1/workspaces/${created.body.id}/members`, {
      token: owner.accessToken,
      json: { email: member.email.toUpperCase() },
    })
    expect(invited.status, invited.text).toBe(202)
    expect(invited.body).toMatchObject({ id: expect.stringMatching(/^inv_/), email: member.email.toLowerCase(), role: 'member' })
    const pending = await call('GET', '/v1/me/invitations', { token: member.accessToken })
    expect(pending.body.data.map((i: { id: string }) => i.id)).toEqual([invited.body.id])
    const accepted = await call('POST', `/v1/me/invitations/${invited.body.id}/accept`, { token: member.accessToken })
    expect(accepted.status, accepted.text).toBe(200)
    expect(accepted.body).toMatchObject({ id: created.body.id, role: 'member' })

    const me = await call('GET', '/v1/me', { token: member.accessToken })
    expect(me.status).toBe(200)
    expect(me.body.workspaces).toEqual(
      expect.arrayContaining([
        { id: member.workspaceId, name: 'Personal', role: 'owner' },
        { id: created.body.id, name: 'Team Edge', role: 'member' },
      ]),
    )
    expect(me.body.workspaces).toHaveLength(2)

    const row = await env.DB.prepare('SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?')
      .bind(created.body.id, member.userId)
      .first<{ role: string }>()
    expect(row?.role).toBe('member')
  })
})
