/**
 * Process smoke tests: the REAL Node and Bun entries, started as child processes on free ports with a fresh
 * SQLite file each, driven over HTTP with fetch. Nothing here imports the app: what is tested is what
 * `npm start` and `npm run start:bun` run.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { EMULATOR_BANNER } from '../../src/bedrock/model-client'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const BIN = join(ROOT, 'node_modules', '.bin')
const JWT_SECRET = 's'.repeat(40)
const START_TIMEOUT_MS = 20_000
const STOP_TIMEOUT_MS = 5_000

/** Every variable src/config.ts reads: none of them may leak in from the environment running the tests. */
const CONFIG_VARS = [
  'PORT', 'DATABASE_URL', 'DATABASE_AUTH_TOKEN', 'JWT_SECRET', 'NODE_ENV', 'ACCESS_TOKEN_TTL', 'REFRESH_TOKEN_TTL',
  'ALLOW_REGISTRATION', 'OIDC_ISSUER', 'OIDC_AUDIENCE', 'OIDC_JWKS_URL', 'CORS_ORIGINS', 'LOG_LEVEL', 'MAX_BODY_BYTES',
  'MAX_TURN_BODY_BYTES',
]

const runtimes = [
  { runtime: 'node', command: join(BIN, 'tsx'), args: ['src/entries/node.ts'] },
  { runtime: 'bun', command: join(BIN, 'bun'), args: ['src/entries/bun.ts'] },
] as const

type Runtime = (typeof runtimes)[number]

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') return reject(new Error('no port assigned'))
      server.close(() => resolvePort(address.port))
    })
  })
}

const tempDirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgechat-smoke-'))
  tempDirs.push(dir)
  return dir
}

class Server {
  stdout = ''
  stderr = ''
  exitCode: number | null = null
  signal: NodeJS.Signals | null = null
  readonly closed: Promise<void>
  readonly baseUrl: string

  constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk))
    this.closed = new Promise((resolveClosed) => {
      child.once('close', (code, signal) => {
        this.exitCode = code
        this.signal = signal
        resolveClosed()
      })
    })
  }

  get running(): boolean {
    return this.exitCode === null && this.signal === null
  }

  output(): string {
    return `--- stdout ---\n${this.stdout.slice(-4000)}\n--- stderr ---\n${this.stderr.slice(-4000)}`
  }

  /** SIGTERM (tsx relays it to its node child), then SIGKILL to the whole process group if it lingers. */
  async stop(): Promise<void> {
    const pid = this.child.pid
    if (pid === undefined) return
    if (this.running) this.child.kill('SIGTERM')
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_TIMEOUT_MS).unref())
    if ((await Promise.race([this.closed, timer])) === 'timeout') killGroup(pid)
    killGroup(pid) // anything left in the group (e.g. tsx's node child after its parent died)
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 1_000).unref())])
  }
}

function killGroup(pid: number) {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // ESRCH: nothing left
  }
}

const started = new Set<Server>()

/** Starts an entry with only the given config variables set (plus PATH/HOME etc. from this process). */
function spawnEntry(target: Pick<Runtime, 'command' | 'args'>, env: Record<string, string>, port: number): Server {
  const base = { ...process.env }
  for (const name of CONFIG_VARS) delete base[name]
  const child = spawn(target.command, [...target.args], {
    cwd: ROOT,
    env: { ...base, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so stop() can reach tsx's child too
  })
  const server = new Server(child, port)
  started.add(server)
  return server
}

async function waitForHealth(server: Server): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  let lastError = ''
  while (Date.now() < deadline) {
    if (!server.running) {
      await server.closed
      throw new Error(`server exited (code ${server.exitCode}, signal ${server.signal}) before /health answered\n${server.output()}`)
    }
    try {
      const res = await fetch(`${server.baseUrl}/health`, { signal: AbortSignal.timeout(1_000) })
      if (res.status === 200) {
        expect(await res.json()).toEqual({ status: 'ok' })
        return
      }
      lastError = `status ${res.status}`
    } catch (error) {
      lastError = String(error)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`/health did not answer within ${START_TIMEOUT_MS} ms (last: ${lastError})\n${server.output()}`)
}

async function startEntry(target: Pick<Runtime, 'command' | 'args'>, env: Record<string, string>): Promise<Server> {
  const server = spawnEntry(target, env, await freePort())
  try {
    await waitForHealth(server)
  } catch (error) {
    await server.stop()
    throw error
  }
  return server
}

async function call(server: Server, method: string, path: string, options: { token?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {}
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  let body: any = text
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body }
}

/** Run a check, and attach the server's output when it fails. */
async function withOutput<T>(server: Server, check: () => Promise<T>): Promise<T> {
  try {
    return await check()
  } catch (error) {
    if (error instanceof Error) error.message += `\n${server.output()}`
    throw error
  }
}

afterAll(async () => {
  await Promise.all([...started].map((server) => server.stop()))
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

describe.each(runtimes)('$runtime entry serves the API', (target) => {
  let server: Server
  const email = `smoke-${target.runtime}@example.com`
  const password = 'correct horse battery staple'
  let accessToken = ''
  let apiKey = ''
  let userId = ''

  beforeAll(async () => {
    const dir = tempDir()
    server = await startEntry(target, {
      NODE_ENV: 'production',
      DATABASE_URL: `file:${join(dir, 'edgechat.db')}`,
      LOG_LEVEL: 'warn',
      JWT_SECRET,
    })
  })

  afterAll(async () => {
    await server?.stop()
  })

  it('registers an account', () =>
    withOutput(server, async () => {
      const res = await call(server, 'POST', '/v1/auth/register', { body: { email, password, name: 'Smoke' } })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      expect(res.headers.get('x-request-id')).toMatch(/^req_/)
      expect(res.body).toMatchObject({
        user: { email, name: 'Smoke' },
        workspace: { role: 'owner' },
        tokenType: 'Bearer',
        expiresIn: expect.any(Number),
      })
      expect(res.body.user.id).toMatch(/^usr_/)
      expect(res.body.workspace.id).toMatch(/^ws_/)
      userId = res.body.user.id
    }))

  it('logs in', () =>
    withOutput(server, async () => {
      const res = await call(server, 'POST', '/v1/auth/login', { body: { email, password } })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body).toMatchObject({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer' })
      accessToken = res.body.accessToken

      const wrong = await call(server, 'POST', '/v1/auth/login', { body: { email, password: 'not the password' } })
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(wrong.body).toMatchObject({ status: 401, code: 'unauthorized' })
    }))

  it('GET /v1/me with the access token', () =>
    withOutput(server, async () => {
      const res = await call(server, 'GET', '/v1/me', { token: accessToken })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body.user).toMatchObject({ id: userId, email })
      expect(res.body.workspaces).toEqual([expect.objectContaining({ role: 'owner' })])

      const anonymous = await call(server, 'GET', '/v1/me')
      expect(anonymous.status).toBe(401)
      expect(anonymous.body).toMatchObject({ code: 'unauthorized' })
    }))

  it('creates an API key and authenticates with it', () =>
    withOutput(server, async () => {
      const created = await call(server, 'POST', '/v1/api-keys', { token: accessToken, body: { name: 'smoke' } })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      expect(created.body.id).toMatch(/^key_/)
      expect(created.body.key).toMatch(/^sk_/)
      apiKey = created.body.key

      const me = await call(server, 'GET', '/v1/me', { token: apiKey })
      expect(me.status, JSON.stringify(me.body)).toBe(200)
      expect(me.body.user).toMatchObject({ id: userId, email })
    }))

  it('GET /ready reports the database', () =>
    withOutput(server, async () => {
      const res = await call(server, 'GET', '/ready')
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body).toMatchObject({ status: 'ok', checks: { database: { status: 'ok' } } })
    }))

  it('GET /openapi.json serves OpenAPI 3.1', () =>
    withOutput(server, async () => {
      const res = await call(server, 'GET', '/openapi.json')
      expect(res.status).toBe(200)
      expect(res.body.openapi).toBe('3.1.0')
      expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/health', '/v1/auth/register', '/v1/me', '/v1/api-keys']))
    }))

  it('warns loudly on stderr that the Bedrock emulator answers, and writes nothing else there', () => {
    expect(server.stderr, server.output()).toContain(EMULATOR_BANNER)
    expect(server.stderr.replace(EMULATOR_BANNER, '').trim(), server.output()).toBe('')
  })
})

describe('node entry: JWT_SECRET handling', () => {
  const node = runtimes[0]

  afterEach(async () => {
    await Promise.all([...started].map((server) => server.stop()))
  })

  it('refuses to start in production without JWT_SECRET, naming it', async () => {
    const dir = tempDir()
    const server = spawnEntry(node, { NODE_ENV: 'production', DATABASE_URL: `file:${join(dir, 'edgechat.db')}`, LOG_LEVEL: 'warn' }, await freePort())
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), START_TIMEOUT_MS).unref())
    expect(await Promise.race([server.closed, timeout]), `still running after ${START_TIMEOUT_MS} ms\n${server.output()}`).not.toBe('timeout')
    expect(server.exitCode, server.output()).not.toBe(0)
    expect(server.exitCode, server.output()).not.toBeNull()
    expect(server.stderr).toContain('JWT_SECRET')
    expect(existsSync(join(dir, 'jwt-secret'))).toBe(false)
  })

  it('in development generates jwt-secret beside the database, and a restart accepts old tokens', async () => {
    const dir = tempDir()
    const env = { NODE_ENV: 'development', DATABASE_URL: `file:${join(dir, 'edgechat.db')}`, LOG_LEVEL: 'warn' }
    const secretFile = join(dir, 'jwt-secret')

    const first = await startEntry(node, env)
    const { accessToken, refreshToken, userId } = await withOutput(first, async () => {
      expect(existsSync(secretFile), 'jwt-secret was not written beside the database').toBe(true)
      expect(first.stdout).toContain('JWT_SECRET is not set')
      const res = await call(first, 'POST', '/v1/auth/register', { body: { email: 'dev@example.com', password: 'password123' } })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      return { accessToken: res.body.accessToken as string, refreshToken: res.body.refreshToken as string, userId: res.body.user.id as string }
    })
    const secret = readFileSync(secretFile, 'utf8').trim()
    expect(secret.length).toBeGreaterThanOrEqual(32)
    expect(statSync(secretFile).mode & 0o077, 'jwt-secret must not be readable by group or others').toBe(0)
    await first.stop()
    expect(first.running).toBe(false)

    const second = await startEntry(node, env)
    await withOutput(second, async () => {
      expect(second.stdout, 'the restarted server generated a new secret').not.toContain('JWT_SECRET is not set')
      expect(readFileSync(secretFile, 'utf8').trim()).toBe(secret)
      const me = await call(second, 'GET', '/v1/me', { token: accessToken })
      expect(me.status, JSON.stringify(me.body)).toBe(200)
      expect(me.body.user).toMatchObject({ id: userId, email: 'dev@example.com' })
      const refreshed = await call(second, 'POST', '/v1/auth/refresh', { body: { refreshToken } })
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
    })
  }, 60_000) // two start-ups and a stop
})
