/**
 * Two REAL Node server processes (src/entries/node.ts under tsx) sharing one SQLite file with the memory hub
 * (STREAM_STATE=memory), as in a rolling deploy or `npm start` run twice. A process only finalizes generations whose
 * owner's heartbeat in the database went stale: B starting and reading A's conversation mid-turn leaves A's turn
 * alone, and a killed A's turn is finalized by B once A's heartbeat is stale.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../ports'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSse, type ParsedEvent } from '../sse'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx')
const JWT_SECRET = 'two-process-test-secret-'.padEnd(48, 'x')
const START_TIMEOUT_MS = 20_000
const STEP_TIMEOUT_MS = 10_000
/** A turn that outlasts a process start and the stale window (≈ 18 s). */
const LONG_TURN = 'Tell me an even longer story [[emulator tokens=600 delay=30]]'
/** Short, so a killed owner is noticed quickly. */
const STALE_SECONDS = 3

/** Config variables that must not leak in from the environment running the tests (AWS ones would pick Bedrock). */
const SCRUBBED = /^(PORT|DATABASE_|JWT_SECRET|NODE_ENV|LOG_LEVEL|STREAM_|UPSTASH_|AWS_|BEDROCK_|EMULATOR_|OIDC_|CORS_|METRICS_|MODEL_IDS|DEFAULT_)/


class Server {
  stdout = ''
  stderr = ''
  exited = false
  readonly closed: Promise<void>
  readonly baseUrl: string

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    port: number,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk))
    this.closed = new Promise((resolveClosed) => child.once('close', () => ((this.exited = true), resolveClosed())))
  }

  output(): string {
    return `--- ${this.name} stdout ---\n${this.stdout.slice(-3000)}\n--- ${this.name} stderr ---\n${this.stderr.slice(-3000)}`
  }

  async stop(): Promise<void> {
    const pid = this.child.pid
    if (pid === undefined) return
    if (!this.exited) this.child.kill('SIGTERM')
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 5_000).unref())])
    try {
      process.kill(-pid, 'SIGKILL') // tsx's node child, if it lingers
    } catch {
      // ESRCH: nothing left
    }
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 1_000).unref())])
  }
}

async function startServer(name: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort()
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !SCRUBBED.test(key)))
  const child = spawn(TSX, ['src/entries/node.ts'], {
    cwd: ROOT,
    env: { ...base, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() reaches tsx's child too
  })
  const server = new Server(name, child, port)
  servers.push(server)
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (server.exited) throw new Error(`${name} exited before answering /health\n${server.output()}`)
    try {
      if ((await fetch(`${server.baseUrl}/health`, { signal: AbortSignal.timeout(1_000) })).ok) return server
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${name} did not answer /health within ${START_TIMEOUT_MS} ms\n${server.output()}`)
}

/** Reads an SSE response incrementally; every wait is bounded. */
class SseReader {
  events: ParsedEvent[] = []
  done = false
  private text = ''
  private readonly reader: ReadableStreamDefaultReader<string>
  private readonly pump: Promise<void>
  private notify: (() => void) | null = null

  constructor(readonly res: Response) {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    this.reader = reader
    this.pump = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          this.text += value
          const complete = this.text.lastIndexOf('\n\n')
          if (complete >= 0) {
            this.events.push(...parseSse(this.text.slice(0, complete + 2)).events)
            this.text = this.text.slice(complete + 2)
          }
          this.notify?.()
        }
      } catch {
        // cancelled
      } finally {
        this.done = true
        this.notify?.()
      }
    })()
  }

  async waitFor(check: (events: ParsedEvent[]) => boolean, what: string, ms = STEP_TIMEOUT_MS): Promise<ParsedEvent[]> {
    const deadline = Date.now() + ms
    while (!check(this.events)) {
      if (this.done) throw new Error(`stream ended before ${what} (got ${this.events.map((e) => `${e.id}:${e.event}`).join(' ')})`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (got ${this.events.length} events)`)
      await new Promise<void>((resolveWait) => {
        this.notify = resolveWait
        setTimeout(resolveWait, 100)
      })
    }
    return this.events
  }

  async end(ms = STEP_TIMEOUT_MS): Promise<ParsedEvent[]> {
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())
    if ((await Promise.race([this.pump, timer])) === 'timeout') throw new Error(`stream did not end within ${ms} ms (got ${this.events.length} events)`)
    return this.events
  }

  async cancel() {
    await this.reader.cancel().catch(() => {})
  }
}

const servers: Server[] = []
const readers: SseReader[] = []
let dir = ''

afterAll(async () => {
  if (process.env.TWO_PROCESS_OUTPUT) for (const server of servers) console.log(server.output())
  for (const reader of readers) await reader.cancel()
  await Promise.all(servers.map((server) => server.stop()))
  if (dir) rmSync(dir, { recursive: true, force: true })
})

interface StoredMessage {
  id: string
  status: string
  stopReason?: string | null
  parts: { type: string; text?: string }[]
}

describe('two Node processes sharing one database with the memory hub', () => {
  let a: Server
  let b: Server
  let env: Record<string, string> = {}
  let token = ''

  const call = async (server: Server, method: string, path: string, body?: unknown) =>
    fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    })
  const json = async <T>(server: Server, path: string): Promise<T> => {
    const res = await call(server, 'GET', path)
    expect(res.status, `GET ${path}: ${await res.clone().text()}`).toBe(200)
    return (await res.json()) as T
  }

  const turn = async (server: Server, conversationId: string, content: string) => {
    const res = await fetch(`${server.baseUrl}/v1/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ content }),
    })
    expect(res.status).toBe(200)
    const reader = new SseReader(res)
    readers.push(reader)
    const [started] = await reader.waitFor((events) => events.length >= 1, `generation.started on ${server.name}`)
    expect(started!.event).toBe('generation.started')
    return { reader, generationId: String(started!.data.generationId), assistantMessageId: String(started!.data.assistantMessageId) }
  }

  const newConversation = async (server: Server) => {
    const created = await call(server, 'POST', '/v1/conversations', {})
    expect(created.status).toBe(201)
    return ((await created.json()) as { id: string }).id
  }

  const assistantMessage = async (server: Server, conversationId: string, id: string) =>
    (await json<{ data: StoredMessage[] }>(server, `/v1/conversations/${conversationId}/messages`)).data.find((message) => message.id === id)!

  const text = (message: StoredMessage) => message.parts.filter((part) => part.type === 'text').map((part) => part.text).join('')

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgechat-two-process-memory-'))
    env = {
      NODE_ENV: 'production',
      BEDROCK_EMULATOR: 'on',
      DATABASE_URL: `file:${join(dir, 'edgechat.db')}`,
      JWT_SECRET,
      LOG_LEVEL: 'warn',
      STREAM_STATE: 'memory',
      STREAM_RETENTION_SECONDS: '120',
      STREAM_STALE_SECONDS: String(STALE_SECONDS),
    }
    a = await startServer('A', env)
    const registered = await fetch(`${a.baseUrl}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'two-process-memory@example.com', password: 'correct horse battery staple', name: 'Two' }),
    })
    if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`)
    token = ((await registered.json()) as { accessToken: string }).accessToken
  })

  it('a second process starting and reading mid-turn leaves the first one’s turn alone', async () => {
    const conversationId = await newConversation(a)
    const onA = await turn(a, conversationId, LONG_TURN)
    await onA.reader.waitFor((events) => events.filter((e) => e.event === 'text.delta').length >= 10, 'ten deltas on A')

    // B starts (its start-up sweep runs) and reads the conversation, the generation and the messages (finalize on
    // read) while A's producer is still streaming, past the stale window.
    b = await startServer('B', env)
    const readUntil = Date.now() + (STALE_SECONDS + 1) * 1000
    do {
      const conversation = await json<{ activeGenerationId: string | null }>(b, `/v1/conversations/${conversationId}`)
      expect(conversation.activeGenerationId, b.output()).toBe(onA.generationId)
      expect((await json<{ status: string }>(b, `/v1/generations/${onA.generationId}`)).status).toBe('running')
      expect((await assistantMessage(b, conversationId, onA.assistantMessageId)).status).toBe('streaming')
      await new Promise((r) => setTimeout(r, 250))
    } while (Date.now() < readUntil && !onA.reader.done)
    expect(onA.reader.done).toBe(false)

    const events = await onA.reader.end(30_000)
    expect(events.at(-1)).toMatchObject({ event: 'generation.completed', data: { generationId: onA.generationId } })
    const deltas = events.filter((e) => e.event === 'text.delta')
    expect(deltas).toHaveLength(600)
    // Stored whole, read through B.
    expect((await json<{ status: string }>(b, `/v1/generations/${onA.generationId}`)).status).toBe('completed')
    const stored = await assistantMessage(b, conversationId, onA.assistantMessageId)
    expect(stored.status).toBe('complete')
    expect(text(stored)).toBe(deltas.map((e) => String(e.data.delta)).join(''))
    expect((await json<{ activeGenerationId: string | null }>(b, `/v1/conversations/${conversationId}`)).activeGenerationId).toBeNull()
  })

  it('B finalizes a killed A’s turn as interrupted once A’s heartbeat is stale, not before', async () => {
    const conversationId = await newConversation(a)
    const onA = await turn(a, conversationId, LONG_TURN)
    await onA.reader.waitFor((events) => events.filter((e) => e.event === 'text.delta').length >= 20, 'twenty deltas on A')

    process.kill(-a.child.pid!, 'SIGKILL') // no terminal event, no more heartbeats
    await a.closed
    const killedAt = Date.now()
    // Still A's as long as its last heartbeat is fresh.
    const early = await json<{ activeGenerationId: string | null }>(b, `/v1/conversations/${conversationId}`)
    if (Date.now() - killedAt < (STALE_SECONDS - 1) * 1000) expect(early.activeGenerationId).toBe(onA.generationId)

    const deadline = Date.now() + STALE_SECONDS * 1000 + 8_000
    for (;;) {
      const conversation = await json<{ activeGenerationId: string | null }>(b, `/v1/conversations/${conversationId}`)
      if (conversation.activeGenerationId === null) break
      if (Date.now() > deadline) throw new Error(`B never finalized the killed turn\n${b.output()}`)
      await new Promise((r) => setTimeout(r, 250))
    }
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual((STALE_SECONDS - 1) * 1000)
    const generation = await json<{ status: string; errorCode?: string }>(b, `/v1/generations/${onA.generationId}`)
    expect(generation.status).toBe('failed')
    const stored = await assistantMessage(b, conversationId, onA.assistantMessageId)
    expect(stored.status).toBe('incomplete')
    const streamed = onA.reader.events.filter((e) => e.event === 'text.delta').map((e) => String(e.data.delta)).join('')
    expect(streamed.startsWith(text(stored))).toBe(true)
  })
})
