import { exports } from 'cloudflare:workers'
import { expect } from 'vitest'

export const ORIGIN = 'https://edgechat.test'
export const PASSWORD = 'correct horse battery staple'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any

export interface Reply {
  status: number
  headers: Headers
  text: string
  body: Json
}

export interface CallOptions {
  token?: string
  json?: unknown
  body?: string
  headers?: Record<string, string>
}

async function read(response: Response): Promise<Reply> {
  const text = await response.text()
  let body: Json = null
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    body = text
  }
  return { status: response.status, headers: response.headers, text, body }
}

/** One request through the Worker's real entry (the default export of src/entries/worker.ts), as workerd dispatches it. */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  return read(await request(method, path, options))
}

export { read as readReply }

/** Asserts an RFC 9457 problem: status, content type, stable code, and the request id in header and body. */
export function expectProblem(reply: Reply, status: number, code: string): Json {
  expect(reply.status, reply.text).toBe(status)
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  const requestId = reply.headers.get('x-request-id')
  expect(requestId).toBeTruthy()
  expect(reply.body).toMatchObject({ status, code, title: expect.any(String), detail: expect.any(String), requestId })
  return reply.body
}

let counter = 0
export function uniqueEmail(label = 'user'): string {
  return `${label}-${++counter}-${crypto.randomUUID().slice(0, 8)}@example.com`
}

export interface Registered {
  email: string
  userId: string
  workspaceId: string
  accessToken: string
  refreshToken: string
}

export async function register(label = 'user', name?: string): Promise<Registered> {
  const email = uniqueEmail(label)
  const reply = await call('POST', '/v1/auth/register', { json: { email, password: PASSWORD, ...(name ? { name } : {}) } })
  expect(reply.status, reply.text).toBe(201)
  return {
    email,
    userId: reply.body.user.id,
    workspaceId: reply.body.workspace.id,
    accessToken: reply.body.accessToken,
    refreshToken: reply.body.refreshToken,
  }
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** Like `call`, but hands back the raw Response (for SSE bodies read incrementally). */
export async function request(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers)
  if (options.token) headers.set('authorization', `Bearer ${options.token}`)
  let body = options.body
  if (options.json !== undefined) {
    body = JSON.stringify(options.json)
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  }
  return exports.default.fetch(`${ORIGIN}${path}`, { method, headers, body })
}

/** Polls `check` until it holds, or fails after `ms`. */
export async function until(check: () => Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
