import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_SECRET, createTestApp, expectProblem, expectRefusal, type TestApp } from '../helpers'

/** Every protected operation from the served OpenAPI document, with its path parameters filled in. */
async function protectedOperations(t: TestApp) {
  const doc = await (await t.request('GET', '/openapi.json')).json()
  const operations: { method: string; path: string }[] = []
  for (const [path, item] of Object.entries<Record<string, { security?: unknown[] }>>(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!operation.security?.length) continue
      operations.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x_0123') })
    }
  }
  return operations
}

let t: TestApp
let operations: { method: string; path: string }[]
beforeAll(async () => {
  t = await createTestApp()
  operations = await protectedOperations(t)
})
afterAll(() => t.close())

describe('every protected route', () => {
  it('is discovered from the OpenAPI document', () => {
    expect(operations.length).toBeGreaterThanOrEqual(12)
    expect(operations).toContainEqual({ method: 'GET', path: '/v1/me' })
  })

  it('refuses missing, forged, expired and revoked credentials with 401 before reading the body', async () => {
    const user = await t.register()
    const { id: keyId, key } = await (await user.call('POST', '/v1/api-keys', { body: { name: 'revoked' } })).json()
    await user.call('DELETE', `/v1/api-keys/${keyId}`)
    const secret = new TextEncoder().encode(TEST_SECRET)
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.user.id)
      .setIssuer('edgechat')
      .setAudience('edgechat-api')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 1)
      .sign(secret)
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.user.id)
      .setIssuer('edgechat')
      .setAudience('edgechat-api')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('x'.repeat(40)))
    const credentials: (string | undefined)[] = [undefined, expired, forged, key, 'sk_unknown', 'garbage']
    for (const { method, path } of operations) {
      for (const token of credentials) {
        const res = await t.request(method, path, { token, body: method === 'GET' || method === 'DELETE' ? undefined : {} })
        await expectRefusal(path, res, 401, 'unauthorized').catch((error: Error) => {
          throw new Error(`${method} ${path} with ${token?.slice(0, 12)}: ${error.message}`)
        })
      }
    }
  })
})

describe('scopes', () => {
  const SCOPES = ['read', 'chat', 'admin'] as const

  /** What each protected operation documents that it needs: one API-key scope, or a user token. */
  async function documentedAccess() {
    const doc = await (await t.request('GET', '/openapi.json')).json()
    const found: { method: string; path: string; needs: string }[] = []
    for (const [path, item] of Object.entries<Record<string, { security?: Record<string, string[]>[] }>>(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (!operation.security?.length) continue
        const [requirement] = operation.security
        const needs = requirement?.userToken ? 'user' : requirement?.bearerAuth?.length === 1 ? requirement.bearerAuth[0]! : 'undocumented'
        found.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x_0123'), needs })
      }
    }
    return found
  }

  it('every operation documents its scope, a key without it gets 403, a key with it does not', async () => {
    const documented = await documentedAccess()
    expect(documented.length).toBe(operations.length)
    expect(documented.filter((op) => !['read', 'chat', 'admin', 'user'].includes(op.needs))).toEqual([])
    expect(documented).toContainEqual({ method: 'POST', path: '/v1/conversations/x_0123/messages', needs: 'chat' })
    expect(documented).toContainEqual({ method: 'GET', path: '/v1/conversations', needs: 'read' })
    expect(documented).toContainEqual({ method: 'POST', path: '/v1/workspaces/x_0123/members', needs: 'admin' })
    expect(documented).toContainEqual({ method: 'POST', path: '/v1/api-keys', needs: 'user' })

    const user = await t.register()
    const keyWith = async (scopes: readonly string[]) => {
      const res = await user.call('POST', '/v1/api-keys', { body: { name: scopes.join('+'), scopes } })
      return (await res.json()).key as string
    }
    const everything = await keyWith(SCOPES)
    const only: Record<string, string> = {}
    const allBut: Record<string, string> = {}
    for (const scope of SCOPES) {
      only[scope] = await keyWith([scope])
      allBut[scope] = await keyWith(SCOPES.filter((s) => s !== scope))
    }

    for (const { method, path, needs } of documented) {
      const send = async (token: string) => t.request(method, path, { token, body: method === 'GET' || method === 'DELETE' ? undefined : {} })
      const label = `${method} ${path} (needs ${needs})`
      if (needs === 'user') {
        for (const key of [everything, ...Object.values(only)]) {
          await expectRefusal(path, await send(key), 403, 'forbidden').catch((error: Error) => {
            throw new Error(`${label} with a key: ${error.message}`)
          })
        }
        // A fresh user each time: some of these end the caller's sessions.
        const fresh = await t.register()
        expect((await send(fresh.accessToken)).status, `${label} with a user token`).not.toBe(403)
        continue
      }
      await expectRefusal(path, await send(allBut[needs]!), 403, 'forbidden').catch((error: Error) => {
        throw new Error(`${label} with a key lacking ${needs}: ${error.message}`)
      })
      for (const token of [only[needs]!, everything, user.accessToken]) {
        const res = await send(token)
        expect(res.status, `${label}: ${await res.text()}`).not.toBe(403)
      }
    }
  })
})

describe('access tokens seen before', () => {
  it('are refused once they expire, and under another secret', async () => {
    let clock = Date.now()
    const timed = await createTestApp({}, { now: () => new Date(clock) })
    const other = await createTestApp({ JWT_SECRET: 'another-secret-that-is-long-enough-0123456789' })
    try {
      const user = await timed.register()
      expect((await user.call('GET', '/v1/me')).status).toBe(200)
      expect((await user.call('GET', '/v1/me')).status).toBe(200)
      await expectProblem(await other.request('GET', '/v1/me', { token: user.accessToken }), 401, 'unauthorized')
      clock += 15 * 60 * 1000 - 1_000
      expect((await user.call('GET', '/v1/me')).status).toBe(200)
      clock += 1_000
      await expectProblem(await user.call('GET', '/v1/me'), 401, 'unauthorized')
    } finally {
      timed.close()
      other.close()
    }
  })
})

describe('tenancy', () => {
  it("never shows one user's workspace resources to another (404 everywhere)", async () => {
    const alice = await t.register()
    const bob = await t.register()
    const workspaceRoutes = operations.filter((op) => op.path.startsWith('/v1/workspaces/'))
    expect(workspaceRoutes.length).toBeGreaterThanOrEqual(7)
    for (const { method, path } of workspaceRoutes) {
      const real = path.replace('/v1/workspaces/x_0123', `/v1/workspaces/${alice.workspace.id}`).replace(/x_0123$/, alice.user.id)
      const body = method === 'GET' || method === 'DELETE' ? undefined : { name: 'hijack', email: bob.email, role: 'owner', url: 'https://mcp.example.com/mcp' }
      await expectProblem(await bob.call(method, real, { body }), 404, 'not_found').catch((error: Error) => {
        throw new Error(`${method} ${real}: ${error.message}`)
      })
    }
    const still = await (await alice.call('GET', `/v1/workspaces/${alice.workspace.id}`)).json()
    expect(still.name).not.toBe('hijack')
  })
})
