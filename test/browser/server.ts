/** The app as `npm start` wires it (src/entries/local.ts: libsql, the emulator, public/ as static assets), on a free port. */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createLocalServer } from '../../src/entries/local'

export async function startServer(env: Record<string, string> = {}) {
  const local = await createLocalServer({ DATABASE_URL: ':memory:', JWT_SECRET: 'browser-test-secret-0123456789-abcdefghijkl', LOG_LEVEL: 'silent', ...env })
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: local.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started))
  })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    app: local.app,
    /** A request to the API as a test's own client (not the browser). */
    api: async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await fetch(origin + path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) : null }
    },
    close: async () => {
      ;(server as Server).closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      local.close()
    },
  }
}
