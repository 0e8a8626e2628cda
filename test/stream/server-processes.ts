/** Real EdgeChat server processes for multi-process tests, and an incremental SSE reader with bounded waits. */
import { spawn, type ChildProcess } from 'node:child_process'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../ports'
import { parseSse, type ParsedEvent } from '../sse'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx')
const START_TIMEOUT_MS = 20_000
export const STEP_TIMEOUT_MS = 10_000

/** Config variables that must not leak in from the environment running the tests (AWS ones would pick Bedrock). */
const SCRUBBED = /^(PORT|DATABASE_|JWT_SECRET|NODE_ENV|LOG_LEVEL|STREAM_|UPSTASH_|AWS_|BEDROCK_|EMULATOR_|OIDC_|CORS_|METRICS_|MODEL_IDS|DEFAULT_)/


export class Server {
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

/** Starts src/entries/node.ts under tsx on a free port and waits for /health; `started` collects it for clean-up. */
export async function startServer(name: string, env: Record<string, string>, started: Server[]): Promise<Server> {
  const port = await freePort()
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !SCRUBBED.test(key)))
  const child = spawn(TSX, ['src/entries/node.ts'], {
    cwd: ROOT,
    env: { ...base, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() reaches tsx's child too
  })
  const server = new Server(name, child, port)
  started.push(server)
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
export class SseReader {
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
