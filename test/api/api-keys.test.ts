import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, type TestApp } from '../helpers'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

describe('API keys', () => {
  it('creates a key shown once, stored hashed, usable as a bearer token', async () => {
    const user = await t.register()
    const res = await user.call('POST', '/v1/api-keys', { body: { name: 'ci' } })
    expect(res.status).toBe(201)
    const created = await res.json()
    expect(created.key).toMatch(/^sk_[\w-]{43}$/)
    expect(created).toMatchObject({ name: 'ci', prefix: created.key.slice(0, 11), workspaceId: null, expiresAt: null, scopes: ['read', 'chat', 'admin'] })

    const stored = await t.client.execute({ sql: 'select key_hash from api_keys where id = ?', args: [created.id] })
    expect(String(stored.rows[0]!.key_hash)).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.stringify(stored.rows)).not.toContain(created.key)

    const me = await t.request('GET', '/v1/me', { token: created.key })
    expect(me.status).toBe(200)
    expect((await me.json()).user.id).toBe(user.user.id)

    const list = await user.call('GET', '/v1/api-keys')
    const page = await list.json()
    expect(page.nextCursor).toBeNull()
    expect(page.data).toHaveLength(1)
    expect(page.data[0].key).toBeUndefined()
    expect(JSON.stringify(page)).not.toContain(created.key)
    expect(page.data[0].lastUsedAt).not.toBeNull()
  })

  it('stops working at once when deleted; deleting again is 404', async () => {
    const user = await t.register()
    const { id, key } = await (await user.call('POST', '/v1/api-keys', { body: { name: 'temp' } })).json()
    expect((await t.request('GET', '/v1/me', { token: key })).status).toBe(200)
    expect((await user.call('DELETE', `/v1/api-keys/${id}`)).status).toBe(204)
    await expectProblem(await t.request('GET', '/v1/me', { token: key }), 401, 'unauthorized')
    await expectProblem(await user.call('DELETE', `/v1/api-keys/${id}`), 404, 'not_found')
  })

  it("cannot see or delete another user's keys", async () => {
    const alice = await t.register()
    const bob = await t.register()
    const { id } = await (await alice.call('POST', '/v1/api-keys', { body: { name: 'mine' } })).json()
    expect((await (await bob.call('GET', '/v1/api-keys')).json()).data).toEqual([])
    await expectProblem(await bob.call('DELETE', `/v1/api-keys/${id}`), 404, 'not_found')
  })

  it('expires keys at expiresAt and rejects a past expiry', async () => {
    const user = await t.register()
    await expectProblem(await user.call('POST', '/v1/api-keys', { body: { name: 'old', expiresAt: '2001-01-01T00:00:00Z' } }), 400, 'validation_failed')
    await expectProblem(await user.call('POST', '/v1/api-keys', { body: { name: 'bad', expiresAt: 'tomorrow' } }), 400, 'validation_failed')
    const { id, key } = await (
      await user.call('POST', '/v1/api-keys', { body: { name: 'soon', expiresAt: new Date(Date.now() + 60_000).toISOString() } })
    ).json()
    expect((await t.request('GET', '/v1/me', { token: key })).status).toBe(200)
    await t.client.execute({ sql: 'update api_keys set expires_at = ? where id = ?', args: [Date.now() - 1, id] })
    await expectProblem(await t.request('GET', '/v1/me', { token: key }), 401, 'unauthorized')
  })

  it('scopes a key to one workspace: nothing outside it is visible', async () => {
    const user = await t.register()
    const other = await (await user.call('POST', '/v1/workspaces', { body: { name: 'Other' } })).json()
    const res = await user.call('POST', '/v1/api-keys', { body: { name: 'scoped', workspaceId: user.workspace.id } })
    expect(res.status).toBe(201)
    const { key } = await res.json()
    const as = (method: string, path: string, body?: unknown) => t.request(method, path, { token: key, body })

    expect((await (await as('GET', '/v1/me')).json()).workspaces.map((w: { id: string }) => w.id)).toEqual([user.workspace.id])
    expect((await (await as('GET', '/v1/workspaces')).json()).data.map((w: { id: string }) => w.id)).toEqual([user.workspace.id])
    await expectProblem(await as('GET', `/v1/workspaces/${other.id}`), 404, 'not_found')
    await expectProblem(await as('POST', '/v1/workspaces', { name: 'escape' }), 403, 'forbidden')
    await expectProblem(await as('POST', '/v1/api-keys', { name: 'wider', workspaceId: other.id }), 403, 'forbidden')
    await expectProblem(await as('POST', '/v1/api-keys', { name: 'sibling' }), 403, 'forbidden')
  })

  it('refuses a workspace the caller does not belong to', async () => {
    const alice = await t.register()
    const bob = await t.register()
    await expectProblem(await bob.call('POST', '/v1/api-keys', { body: { name: 'x', workspaceId: alice.workspace.id } }), 404, 'not_found')
  })

  it('paginates with an opaque cursor', async () => {
    const user = await t.register()
    for (let i = 0; i < 5; i++) await user.call('POST', '/v1/api-keys', { body: { name: `k${i}` } })
    const first = await (await user.call('GET', '/v1/api-keys?limit=2')).json()
    expect(first.data.map((k: { name: string }) => k.name)).toEqual(['k0', 'k1'])
    const second = await (await user.call('GET', `/v1/api-keys?limit=2&cursor=${first.nextCursor}`)).json()
    expect(second.data.map((k: { name: string }) => k.name)).toEqual(['k2', 'k3'])
    const third = await (await user.call('GET', `/v1/api-keys?limit=2&cursor=${second.nextCursor}`)).json()
    expect(third.data.map((k: { name: string }) => k.name)).toEqual(['k4'])
    expect(third.nextCursor).toBeNull()
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'cursor=%%%', 'cursor=bm90LWpzb24']) {
      await expectProblem(await user.call('GET', `/v1/api-keys?${query}`), 400, 'validation_failed')
    }
  })
})

describe('API keys cannot manage API keys', () => {
  it('refuses to create, list or delete keys with a key (403), whatever its scopes', async () => {
    const user = await t.register()
    const { id, key } = await (await user.call('POST', '/v1/api-keys', { body: { name: 'all scopes' } })).json()
    const parent = await (
      await user.call('POST', '/v1/api-keys', {
        body: { name: 'expiring, scoped', workspaceId: user.workspace.id, expiresAt: new Date(Date.now() + 60_000).toISOString() },
      })
    ).json()
    for (const token of [key, parent.key]) {
      const minted = await expectProblem(await t.request('POST', '/v1/api-keys', { token, body: { name: 'child', expiresAt: null } }), 403, 'forbidden')
      expect(minted.detail).toBe('API keys cannot manage API keys; use a user token')
      await expectProblem(await t.request('POST', '/v1/api-keys', { token, body: { name: 'child' } }), 403, 'forbidden')
      await expectProblem(await t.request('GET', '/v1/api-keys', { token }), 403, 'forbidden')
      await expectProblem(await t.request('DELETE', `/v1/api-keys/${parent.id}`, { token }), 403, 'forbidden')
      await expectProblem(await t.request('DELETE', `/v1/api-keys/${id}`, { token }), 403, 'forbidden')
    }
    const stored = await t.client.execute({ sql: 'select id from api_keys where user_id = ? order by id', args: [user.user.id] })
    expect(stored.rows.map((row) => row.id)).toEqual([id, parent.id])
  })
})

describe('API key scopes', () => {
  const keyWith = async (user: Awaited<ReturnType<TestApp['register']>>, scopes?: string[]) => {
    const res = await user.call('POST', '/v1/api-keys', { body: { name: 'scoped', ...(scopes ? { scopes } : {}) } })
    expect(res.status).toBe(201)
    return (await res.json()) as { id: string; key: string; scopes: string[] }
  }

  it('default to all three, are listed, and are chosen at creation', async () => {
    const user = await t.register()
    expect((await keyWith(user)).scopes).toEqual(['read', 'chat', 'admin'])
    expect((await keyWith(user, ['chat', 'read'])).scopes).toEqual(['read', 'chat'])
    const listed = await (await user.call('GET', '/v1/api-keys')).json()
    expect(listed.data.map((k: { scopes: string[] }) => k.scopes)).toEqual([['read', 'chat', 'admin'], ['read', 'chat']])
    for (const scopes of [[], ['write'], ['read', 'read'], 'read', ['read', 'chat', 'admin', 'admin']]) {
      await expectProblem(await user.call('POST', '/v1/api-keys', { body: { name: 'bad', scopes } }), 400, 'validation_failed')
    }
  })

  it('a key stored before scopes existed keeps every scope', async () => {
    const user = await t.register()
    const key = 'sk_legacy-key-made-before-scopes-existed-0123456'
    const hash = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))), (b) => b.toString(16).padStart(2, '0')).join('')
    await t.client.execute({
      sql: 'insert into api_keys (id, user_id, name, prefix, key_hash, created_at) values (?, ?, ?, ?, ?, ?)',
      args: ['key_legacy', user.user.id, 'legacy', key.slice(0, 11), hash, Date.now()],
    })
    const listed = await (await user.call('GET', '/v1/api-keys')).json()
    expect(listed.data[0]).toMatchObject({ id: 'key_legacy', scopes: ['read', 'chat', 'admin'] })
    const res = await t.request('POST', '/v1/conversations', { token: key, body: {} })
    expect(res.status).toBe(201)
  })

  it('a read key lists and reads but cannot create conversations or post turns', async () => {
    const user = await t.register()
    const conversation = await (await user.call('POST', '/v1/conversations', { body: { title: 'mine' } })).json()
    const { key } = await keyWith(user, ['read'])
    const as = (method: string, path: string, body?: unknown) => t.request(method, path, { token: key, body })
    expect((await as('GET', '/v1/me')).status).toBe(200)
    const listed = await as('GET', '/v1/conversations')
    expect(listed.status).toBe(200)
    expect((await listed.json()).data.map((c: { id: string }) => c.id)).toEqual([conversation.id])
    expect((await as('GET', `/v1/conversations/${conversation.id}/messages`)).status).toBe(200)
    expect((await as('GET', `/v1/workspaces/${user.workspace.id}/members`)).status).toBe(200)

    const refused = await expectProblem(await as('POST', '/v1/conversations', {}), 403, 'forbidden')
    expect(refused.detail).toBe('This API key lacks the chat scope')
    await expectProblem(await as('POST', `/v1/conversations/${conversation.id}/messages`, { content: 'hi', stream: false }), 403, 'forbidden')
    await expectProblem(await as('PATCH', `/v1/conversations/${conversation.id}`, { title: 'renamed' }), 403, 'forbidden')
    await expectProblem(await as('DELETE', `/v1/conversations/${conversation.id}`), 403, 'forbidden')
    await expectProblem(await as('PATCH', `/v1/workspaces/${user.workspace.id}`, { name: 'renamed' }), 403, 'forbidden')
    const messages = await (await user.call('GET', `/v1/conversations/${conversation.id}/messages`)).json()
    expect(messages.data).toEqual([])
  })

  it('a chat key chats but cannot manage workspaces or members', async () => {
    const user = await t.register()
    const friend = await t.register()
    const { key } = await keyWith(user, ['chat'])
    const as = (method: string, path: string, body?: unknown) => t.request(method, path, { token: key, body })
    const created = await as('POST', '/v1/conversations', {})
    expect(created.status).toBe(201)
    const turn = await as('POST', `/v1/conversations/${(await created.json()).id}/messages`, { content: 'hi', stream: false })
    expect(turn.status).toBe(201)
    await expectProblem(await as('GET', '/v1/conversations'), 403, 'forbidden')

    const path = `/v1/workspaces/${user.workspace.id}`
    await expectProblem(await as('POST', `${path}/members`, { email: friend.email, role: 'admin' }), 403, 'forbidden')
    await expectProblem(await as('PATCH', `${path}/members/${user.user.id}`, { role: 'viewer' }), 403, 'forbidden')
    await expectProblem(await as('DELETE', `${path}/members/${user.user.id}`), 403, 'forbidden')
    await expectProblem(await as('POST', '/v1/workspaces', { name: 'new' }), 403, 'forbidden')
    expect((await (await user.call('GET', `${path}/invitations`)).json()).data).toEqual([])
  })
})
