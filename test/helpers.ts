import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createApp, type AppDependencies } from '../src/app'
import { createBedrockClient, type BedrockClientOptions } from '../src/bedrock/bedrock-client'
import { createBedrockEmulator, DEFAULT_EMULATOR_CREDENTIALS, DEFAULT_EMULATOR_REGION, type BedrockEmulatorOptions } from '../src/bedrock/emulator'
import { modelClientFromConfig } from '../src/bedrock/model-client'
import { parseConfig } from '../src/config'
import { libsqlDatabase } from '../src/db/libsql'
import { openDatabase } from '../src/entries/local'
import { OPENAI_COMPATIBLE_PATH } from '../src/protocols/openai-errors'

export const TEST_SECRET = 'test-secret-that-is-long-enough-0123456789'

export type TestApp = Awaited<ReturnType<typeof createTestApp>>

/** Tests read arbitrary JSON bodies; workers-types declares `json()` as unknown. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TestResponse = Omit<Response, 'json'> & { json(): Promise<any> }

/**
 * The real app over a fresh, migrated in-memory libsql database. Generated titles are off unless `env` turns them on
 * (GENERATE_TITLES=true): they add a background model call after a conversation's first turn.
 */
export async function createTestApp(env: Record<string, string> = {}, deps: Partial<AppDependencies> = {}) {
  const config = parseConfig({ DATABASE_URL: ':memory:', JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', GENERATE_TITLES: 'false', ...env })
  const client = await openDatabase(config)
  const db = libsqlDatabase(client)
  const app = createApp({ config, db, models: modelClientFromConfig(config, { emulator: createBedrockEmulator }).models, ...deps })
  let counter = 0

  const request = (
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token) headers.authorization = `Bearer ${options.token}`
    let body: string | undefined
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
      headers['content-type'] ??= 'application/json'
    }
    return Promise.resolve(app.request(path, { method, headers, body })) as Promise<TestResponse>
  }

  /** Registers a fresh user; returns its tokens, ids and a `call` bound to its access token. */
  const register = async (name = `user${++counter}`) => {
    const email = `${name}-${counter}-${crypto.randomUUID().slice(0, 8)}@example.com`.toLowerCase()
    const res = await request('POST', '/v1/auth/register', { body: { email, password: 'correct horse battery', name } })
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`)
    const json = (await res.json()) as {
      user: { id: string; email: string }
      workspace: { id: string }
      accessToken: string
      refreshToken: string
    }
    return {
      ...json,
      email,
      password: 'correct horse battery',
      call: (method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) =>
        request(method, path, { ...options, token: json.accessToken }),
    }
  }

  return { app, db, client, config, request, register, close: () => client.close() }
}

export async function expectProblem(res: TestResponse | Response, status: number, code: string) {
  const text = await res.text()
  if (res.status !== status) throw new Error(`expected ${status} ${code}, got ${res.status}: ${text}`)
  if (!res.headers.get('content-type')?.startsWith('application/problem+json')) {
    throw new Error(`expected application/problem+json, got ${res.headers.get('content-type')}`)
  }
  const body = JSON.parse(text) as Record<string, unknown>
  if (body.code !== code || body.status !== status || typeof body.detail !== 'string' || typeof body.requestId !== 'string') {
    throw new Error(`unexpected problem body: ${text}`)
  }
  if (/\bat .*\.(ts|js):\d+|SQLITE|select |insert into/i.test(text)) throw new Error(`problem leaks internals: ${text}`)
  return body
}

/** OpenAI's `{error: {message, type, param, code}}`, what the OpenAI-compatible routes answer instead of a problem. */
export async function expectOpenAIError(res: TestResponse | Response, status: number, code: string) {
  const text = await res.text()
  if (res.status !== status) throw new Error(`expected ${status} ${code}, got ${res.status}: ${text}`)
  if (!res.headers.get('content-type')?.startsWith('application/json')) throw new Error(`expected application/json, got ${res.headers.get('content-type')}`)
  const body = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown } }
  if (body.error?.code !== code || typeof body.error.message !== 'string' || typeof body.error.type !== 'string') {
    throw new Error(`unexpected OpenAI error body: ${text}`)
  }
  return body.error
}

/** The refusal in the shape the route speaks: OpenAI's on the OpenAI-compatible routes, a problem elsewhere. */
export function expectRefusal(path: string, res: TestResponse | Response, status: number, code: string) {
  return OPENAI_COMPATIBLE_PATH.test(path) ? expectOpenAIError(res, status, code) : expectProblem(res, status, code)
}

/** The Bedrock emulator served over real HTTP on a free port, and signed clients pointed at it. */
export async function startHttpEmulator(options: Partial<BedrockEmulatorOptions> = {}) {
  const emulator = createBedrockEmulator({ credentials: DEFAULT_EMULATOR_CREDENTIALS, ...options })
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: emulator.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    client: (options: Partial<BedrockClientOptions> = {}) =>
      createBedrockClient({ region: DEFAULT_EMULATOR_REGION, endpoint: url, credentials: DEFAULT_EMULATOR_CREDENTIALS, ...options }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
