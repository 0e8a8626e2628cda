/**
 * Process smoke tests: the REAL Node and Bun entries, started as child processes on free ports with a fresh
 * SQLite file each, driven over HTTP with fetch. Nothing here imports the app: what is tested is what
 * `npm start` and `npm run start:bun` run.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../ports'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import OpenAI from 'openai'
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai'
import { EMULATOR_BANNER } from '../../src/bedrock/model-client'
import { ConfigSchema } from '../../src/config'
import { parseSse, type ParsedEvent } from '../sse'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const BIN = join(ROOT, 'node_modules', '.bin')
const JWT_SECRET = 's'.repeat(40)
/** Production serves /metrics and the details of /ready only to this bearer token. */
const METRICS_TOKEN = 'smoke-metrics-token-0123456789'
const START_TIMEOUT_MS = 20_000
const STOP_TIMEOUT_MS = 5_000

/**
 * Every variable src/config.ts reads: none of them may leak in from the environment running the tests (AWS
 * credentials in particular would send the chat turns below to real Bedrock instead of the built-in emulator).
 */
const CONFIG_VARS = Object.keys(ConfigSchema.shape)

const runtimes = [
  { runtime: 'node', command: join(BIN, 'tsx'), args: ['src/entries/node.ts'] },
  { runtime: 'bun', command: join(BIN, 'bun'), args: ['src/entries/bun.ts'] },
] as const

type Runtime = (typeof runtimes)[number]


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

const textOf = (message: { parts: { type: string; text?: string }[] }) =>
  message.parts.filter((part) => part.type === 'text').map((part) => part.text).join('')

const deltasOf = (events: ParsedEvent[]) => events.filter((e) => e.event === 'text.delta').map((e) => String(e.data.delta)).join('')

/** POSTs a streamed turn and reads the SSE body to its end. */
async function streamTurn(server: Server, token: string, conversationId: string, content: string) {
  const res = await fetch(`${server.baseUrl}/v1/conversations/${conversationId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ content }),
    signal: AbortSignal.timeout(20_000),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, events: res.status === 200 ? parseSse(text).events : [] }
}

async function listMessages(server: Server, token: string, conversationId: string): Promise<any[]> {
  const res = await call(server, 'GET', `/v1/conversations/${conversationId}/messages`, { token })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body.data
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 50))
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
      BEDROCK_EMULATOR: 'on',
      DATABASE_URL: `file:${join(dir, 'edgechat.db')}`,
      LOG_LEVEL: 'warn',
      JWT_SECRET,
      METRICS_TOKEN,
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

  let conversationId = ''

  it('streams a chat turn over SSE and stores the completed answer', () =>
    withOutput(server, async () => {
      const created = await call(server, 'POST', '/v1/conversations', { token: accessToken, body: {} })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      conversationId = created.body.id

      const turn = await streamTurn(server, accessToken, conversationId, `Hello from ${target.runtime} [[emulator tokens=5]]`)
      expect(turn.status, turn.text).toBe(200)
      expect(turn.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
      expect(turn.text).toMatch(/^id: 1\nevent: generation.started\n/)
      const { events } = turn
      expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1))
      expect(events.map((e) => e.event)).toEqual(['generation.started', ...Array(5).fill('text.delta'), 'usage', 'generation.completed'])
      const started = events[0]!.data
      expect(started).toMatchObject({ conversationId, generationId: expect.stringMatching(/^gen_/) })
      expect(events.at(-1)!.data).toMatchObject({ stopReason: 'end_turn', usage: { outputTokens: 5 } })

      const [userMessage, assistantMessage, ...rest] = await listMessages(server, accessToken, conversationId)
      expect(rest).toEqual([])
      expect(userMessage).toMatchObject({ id: started.userMessageId, role: 'user', status: 'complete' })
      expect(assistantMessage).toMatchObject({ id: started.assistantMessageId, role: 'assistant', status: 'complete', usage: { outputTokens: 5 } })
      expect(textOf(assistantMessage)).toBe(deltasOf(events))
      expect(textOf(assistantMessage).length).toBeGreaterThan(0)
    }))

  it('answers a stream:false turn with 201 and both messages', () =>
    withOutput(server, async () => {
      const res = await call(server, 'POST', `/v1/conversations/${conversationId}/messages`, {
        token: accessToken,
        body: { content: 'Quietly [[emulator tokens=3]]', stream: false },
      })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      expect(res.body.userMessage).toMatchObject({ role: 'user', status: 'complete' })
      expect(res.body.assistantMessage).toMatchObject({
        role: 'assistant',
        status: 'complete',
        parentId: res.body.userMessage.id,
        stopReason: 'end_turn',
        usage: { outputTokens: 3 },
      })
      expect(textOf(res.body.assistantMessage).length).toBeGreaterThan(0)
      const stored = await listMessages(server, accessToken, conversationId)
      expect(stored.map((m) => `${m.role}:${m.status}`)).toEqual(['user:complete', 'assistant:complete', 'user:complete', 'assistant:complete'])
    }))

  it('GET /metrics counts the generations in Prometheus text', () =>
    withOutput(server, async () => {
      const res = await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, signal: AbortSignal.timeout(10_000) })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
      const text = await res.text()
      expect(text).toContain('# TYPE edgechat_generations_total counter')
      const completed = text.split('\n').find((line) => line.startsWith('edgechat_generations_total{') && line.includes('outcome="completed"'))
      expect(completed, text).toBeDefined()
      expect(Number(completed!.split(' ').at(-1))).toBe(2)
    }))

  it('runs a turn over the WebSocket, with the token in Sec-WebSocket-Protocol', () =>
    withOutput(server, async () => {
      const url = `${server.baseUrl.replace('http', 'ws')}/v1/conversations/${conversationId}/ws`
      const ws = new WebSocket(url, ['bearer', accessToken])
      const events: { id?: number; event: string; data: Record<string, unknown> }[] = []
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no completion; got ${JSON.stringify(events.map((e) => e.event))}`)), 15_000)
        ws.on('message', (raw) => {
          const message = JSON.parse(String(raw))
          events.push(message)
          if (message.event === 'generation.completed') {
            clearTimeout(timer)
            resolve()
          }
        })
        ws.once('error', reject)
      })
      await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))))
      expect(ws.protocol).toBe('bearer')
      ws.send(JSON.stringify({ type: 'message', content: `Socket on ${target.runtime} [[emulator tokens=3]]` }))
      await done
      ws.close()
      expect(events.map((e) => e.event)).toEqual(['generation.started', 'text.delta', 'text.delta', 'text.delta', 'usage', 'generation.completed'])
      expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6])
    }))

  it('refuses a WebSocket frame longer than MAX_TURN_BODY_BYTES from its header (1009)', () =>
    withOutput(server, async () => {
      const ws = new WebSocket(`${server.baseUrl.replace('http', 'ws')}/v1/conversations/${conversationId}/ws`, ['bearer', accessToken])
      ws.on('error', () => undefined)
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
      await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))))
      // A masked text frame announcing 25 MiB + 1 bytes, then only a few: a server buffering it would wait forever.
      const header = Buffer.alloc(14)
      header[0] = 0x81
      header[1] = 0x80 | 127
      header.writeBigUInt64BE(BigInt(25 * 1024 * 1024 + 1), 2)
      ;(ws as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.concat([header, Buffer.from('{"type"')]))
      const code = await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the server kept the oversized frame')), 15_000))])
      expect(code).toBe(1009)
    }))

  it('streams an OpenAI chat completion to the official openai client with an API key', () =>
    withOutput(server, async () => {
      const openai = new OpenAI({ apiKey, baseURL: `${server.baseUrl}/v1`, maxRetries: 0, timeout: 20_000 })
      const stream = await openai.chat.completions.create({
        model: 'amazon.nova-lite-v1:0',
        messages: [{ role: 'user', content: `Hi from ${target.runtime} [[emulator tokens=4]]` }],
        stream: true,
        stream_options: { include_usage: true },
      })
      let text = ''
      let finish: string | null = null
      let completionTokens = 0
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? ''
        finish = chunk.choices[0]?.finish_reason ?? finish
        completionTokens = chunk.usage?.completion_tokens ?? completionTokens
      }
      expect(text.split(' ')).toHaveLength(4)
      expect(finish).toBe('stop')
      expect(completionTokens).toBe(4)
    }))

  it("streams the AI SDK UI message stream to the `ai` package's DefaultChatTransport, and keeps the history", () =>
    withOutput(server, async () => {
      const transport = new DefaultChatTransport<UIMessage>({ api: `${server.baseUrl}/v1/ui/chat`, headers: { Authorization: `Bearer ${accessToken}` } })
      const chatId = `smoke-${target.runtime}`
      const ask = async (text: string) => {
        const stream = await transport.sendMessages({
          chatId,
          messages: [{ id: crypto.randomUUID(), role: 'user', parts: [{ type: 'text', text }] }],
          trigger: 'submit-message',
          messageId: undefined,
          abortSignal: undefined,
        })
        const errors: string[] = []
        let message: UIMessage | undefined
        for await (const snapshot of readUIMessageStream<UIMessage>({ stream, onError: (error) => errors.push(String(error)) })) message = snapshot
        expect(errors).toEqual([])
        return message
      }
      const first = await ask(`Hi from ${target.runtime} [[emulator tokens=3]]`)
      expect(first?.role).toBe('assistant')
      expect(first?.id).toMatch(/^msg_/)
      const text = first?.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('')
      expect(text?.split(' ')).toHaveLength(3)
      await ask('And again [[emulator tokens=2]]')

      const list = await call(server, 'GET', '/v1/conversations', { token: accessToken })
      const conversation = list.body.data.find((row: { title: string | null; id: string }) => row.title?.startsWith(`Hi from ${target.runtime}`))
      expect(conversation, JSON.stringify(list.body)).toBeDefined()
      const messages = await call(server, 'GET', `/v1/conversations/${conversation.id}/messages`, { token: accessToken })
      expect(messages.body.data.map((row: { role: string }) => row.role)).toEqual(['user', 'assistant', 'user', 'assistant'])
      const idle = await fetch(`${server.baseUrl}/v1/ui/chat/${chatId}/stream`, { headers: { Authorization: `Bearer ${accessToken}` } })
      expect(idle.status).toBe(204)
    }))

  it('GET /ready reports the database', () =>
    withOutput(server, async () => {
      const res = await call(server, 'GET', '/ready', { token: METRICS_TOKEN })
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

  it('serves the playground at /, the API reference at /docs and their files from public/', () =>
    withOutput(server, async () => {
      for (const [path, type] of [
        ['/', 'text/html'],
        ['/docs', 'text/html'],
        ['/assets/playground.js', 'text/javascript'],
        ['/assets/vendor/scalar-api-reference.js', 'text/javascript'],
      ] as const) {
        const res = await fetch(server.baseUrl + path)
        expect(res.status, path).toBe(200)
        expect(res.headers.get('content-type'), path).toMatch(new RegExp(`^${type}`))
        expect((await res.arrayBuffer()).byteLength, path).toBe(statSync(join(ROOT, 'public', path === '/' ? 'index.html' : path === '/docs' ? 'docs.html' : path)).size)
      }
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

  it('refuses to start in production without AWS credentials unless BEDROCK_EMULATOR=on says synthetic answers are wanted', async () => {
    const dir = tempDir()
    const env = { NODE_ENV: 'production', DATABASE_URL: `file:${join(dir, 'edgechat.db')}`, LOG_LEVEL: 'warn', JWT_SECRET }
    const server = spawnEntry(node, env, await freePort())
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), START_TIMEOUT_MS).unref())
    expect(await Promise.race([server.closed, timeout]), `still running after ${START_TIMEOUT_MS} ms\n${server.output()}`).not.toBe('timeout')
    expect(server.exitCode, server.output()).toBe(1)
    expect(server.stderr).toContain('BEDROCK_EMULATOR')
    expect(server.stderr).not.toContain('BEDROCK EMULATOR: no AWS credentials') // refused before the banner

    const wanted = await startEntry(node, { ...env, BEDROCK_EMULATOR: 'on' })
    expect(wanted.stderr).toContain('BEDROCK EMULATOR')
  })

  it('listens on HOST only', async () => {
    const dir = tempDir()
    const port = await freePort()
    const server = spawnEntry(node, { NODE_ENV: 'development', HOST: '127.0.0.2', DATABASE_URL: `file:${join(dir, 'edgechat.db')}`, LOG_LEVEL: 'info' }, port)
    const health = (host: string) => fetch(`http://${host}:${port}/health`, { signal: AbortSignal.timeout(2_000) }).then((res) => res.status, (error: unknown) => String(error))
    const deadline = Date.now() + START_TIMEOUT_MS
    while ((await health('127.0.0.2')) !== 200) {
      expect(server.running, server.output()).toBe(true)
      expect(Date.now() < deadline, server.output()).toBe(true)
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(await health('127.0.0.1')).toMatch(/fetch failed/)
    expect(server.stdout).toContain(`EdgeChat listening on http://127.0.0.2:${port}`)
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
    for (const file of ['edgechat.db', 'edgechat.db-wal', 'edgechat.db-shm']) {
      expect(statSync(join(dir, file)).mode & 0o777, `${file} holds password hashes and chats: owner only`).toBe(0o600)
    }
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

describe('node entry: crash recovery', () => {
  const node = runtimes[0]

  afterEach(async () => {
    await Promise.all([...started].map((server) => server.stop()))
  })

  it('after SIGKILL mid-turn, a restart on the same database finalizes the turn with its checkpointed text', async () => {
    const dir = tempDir()
    // The restart only finalizes the killed server's turn once that server's heartbeat is stale (it might be another
    // live process on the same database): a 1 s stale window is over before the restarted server is up.
    const env = {
      NODE_ENV: 'production',
      BEDROCK_EMULATOR: 'on',
      DATABASE_URL: `file:${join(dir, 'edgechat.db')}`,
      LOG_LEVEL: 'warn',
      JWT_SECRET,
      STREAM_STALE_SECONDS: '1',
    }
    const first = await startEntry(node, env)

    const { token, conversationId, generationId, userMessageId, assistantMessageId, checkpointed, received } = await withOutput(first, async () => {
      const registered = await call(first, 'POST', '/v1/auth/register', { body: { email: 'crash@example.com', password: 'correct horse battery staple' } })
      expect(registered.status, JSON.stringify(registered.body)).toBe(201)
      const token: string = registered.body.accessToken
      const conv = await call(first, 'POST', '/v1/conversations', { token, body: {} })
      expect(conv.status, JSON.stringify(conv.body)).toBe(201)
      const conversationId: string = conv.body.id

      // 400 tokens 20 ms apart: ~8 s of streaming, checkpointed about every second.
      const res = await fetch(`${first.baseUrl}/v1/conversations/${conversationId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'Crash me [[emulator tokens=400 delay=20]]' }),
      })
      expect(res.status).toBe(200)
      let sse = ''
      const reading = (async () => {
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
        try {
          for (;;) {
            const { done, value } = await reader.read()
            if (done) return
            sse += value
          }
        } catch {
          // the connection dies with the server
        }
      })()
      const started = await until('generation.started', async () => parseSse(sse.slice(0, sse.lastIndexOf('\n\n') + 2)).events[0])
      expect(started.event).toBe('generation.started')

      const partial = await until('a checkpoint of the streaming answer', async () => {
        const [, assistant] = await listMessages(first, token, conversationId)
        return assistant?.status === 'streaming' && textOf(assistant).length > 0 ? assistant : undefined
      })
      expect(partial.id).toBe(started.data.assistantMessageId)

      killGroup(first.child.pid!)
      await first.closed
      expect(first.signal).toBe('SIGKILL')
      await reading
      const events = parseSse(sse.slice(0, sse.lastIndexOf('\n\n') + 2)).events
      expect(events.map((e) => e.event)).not.toContain('generation.completed')
      return {
        token,
        conversationId,
        generationId: String(started.data.generationId),
        userMessageId: String(started.data.userMessageId),
        assistantMessageId: String(started.data.assistantMessageId),
        checkpointed: textOf(partial),
        received: deltasOf(events),
      }
    })

    const second = await startEntry(node, env)
    await withOutput(second, async () => {
      // The start-up sweep closed the interrupted generation (before any request could finalize it on read).
      expect(second.stdout).toContain('finalized generations interrupted by a restart')

      const [userMessage, assistantMessage, ...rest] = await listMessages(second, token, conversationId)
      expect(rest).toEqual([])
      expect(userMessage).toMatchObject({ id: userMessageId, role: 'user', status: 'complete', parts: [{ type: 'text', text: 'Crash me [[emulator tokens=400 delay=20]]' }] })
      expect(assistantMessage).toMatchObject({ id: assistantMessageId, role: 'assistant', status: 'incomplete' })
      const kept = textOf(assistantMessage)
      // At least what the last observed checkpoint held, and a prefix of the one answer (as is what the client got).
      expect(kept.startsWith(checkpointed), `kept ${JSON.stringify(kept)} vs checkpoint ${JSON.stringify(checkpointed)}`).toBe(true)
      expect(received.startsWith(kept) || kept.startsWith(received), `kept ${JSON.stringify(kept)} vs received ${JSON.stringify(received)}`).toBe(true)

      const generation = await call(second, 'GET', `/v1/generations/${generationId}`, { token })
      expect(generation.status, JSON.stringify(generation.body)).toBe(200)
      expect(generation.body).toMatchObject({ id: generationId, status: 'failed', assistantMessageId })
      const conversation = await call(second, 'GET', `/v1/conversations/${conversationId}`, { token })
      expect(conversation.body.activeGenerationId).toBeNull()

      // The conversation takes new turns, and its history carries the interrupted answer.
      const next = await streamTurn(second, token, conversationId, 'Still there? [[emulator tokens=4]]')
      expect(next.status, next.text).toBe(200)
      expect(next.events.map((e) => e.event)).toEqual(['generation.started', ...Array(4).fill('text.delta'), 'usage', 'generation.completed'])
      const after = await listMessages(second, token, conversationId)
      expect(after.map((m) => `${m.role}:${m.status}`)).toEqual(['user:complete', 'assistant:incomplete', 'user:complete', 'assistant:complete'])
      expect(after[2].parentId).toBe(assistantMessageId)
    })
  }, 90_000) // two start-ups, a partial turn and a restart
})
