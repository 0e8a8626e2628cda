import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { AppDependencies } from '../../src/app'
import { createTestApp, type TestResponse } from '../helpers'

/** The test app (createTestApp) served over real HTTP on a free port; `register` returns users that call it with fetch. */
export async function createHttpTestApp(env: Record<string, string> = {}, deps: Partial<AppDependencies> = {}) {
  const t = await createTestApp(env, deps)
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started))
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const fetchAs = (token: string | undefined) => (method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...options.headers }
    if (token) headers.authorization = `Bearer ${token}`
    let body: BodyInit | undefined
    if (options.body instanceof Uint8Array || options.body instanceof FormData || options.body instanceof Blob) body = options.body as BodyInit
    else if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
      headers['content-type'] ??= 'application/json'
    }
    return fetch(`${base}${path}`, { method, headers, body }) as Promise<TestResponse>
  }

  const register = async (name?: string) => {
    const user = await t.register(name)
    return { ...user, call: fetchAs(user.accessToken) }
  }

  return {
    ...t,
    base,
    request: (method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) => fetchAs(options.token)(method, path, options),
    register,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      t.close()
    },
  }
}

export type HttpTestApp = Awaited<ReturnType<typeof createHttpTestApp>>
export type HttpUser = Awaited<ReturnType<HttpTestApp['register']>>
