/**
 * An Upstash-REST-compatible bridge to a real Redis, for tests and benchmarks only: lets @upstash/redis (which
 * speaks nothing but Upstash's REST protocol) run against the redis-server on 127.0.0.1:6379.
 *
 * What it implements (the protocol @upstash/redis 1.39 uses; ../../../shared/reference/toolchain.md):
 * - `Authorization: Bearer <token>`, else 401 `{"error":"Unauthorized"}`;
 * - `POST /` with one command as a JSON array → `{result}`; a Redis error → 400 `{error}`;
 * - `POST /pipeline` → `[{result}|{error}, …]` (not atomic); `POST /multi-exec` → the same shape, run as
 *   MULTI … EXEC written in one piece on one connection (an aborted transaction → 400 `{error}`);
 * - `Upstash-Encoding: base64`: every string in a result, at any depth, is the base64 of its bytes, except a
 *   top-level `OK` status; integers stay numbers, nil is null. Without the header strings are UTF-8 text;
 * - blocking commands (BLPOP, XREAD … BLOCK, …) get a connection of their own; commands that would change or
 *   break a shared connection's state (SELECT, SUBSCRIBE, MULTI, WATCH, …) are refused.
 * It listens on 127.0.0.1 only, on a free port, and counts the commands it is sent (what Upstash would bill).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { Redis } from '@upstash/redis'
import { RespConnection, RespError, SimpleString, type RespArgument, type RespValue } from './resp'

const MAX_BODY_BYTES = 10 * 1024 * 1024

/** Commands the bridge will not run on its shared connections. */
const REFUSED = new Set([
  'select', 'swapdb', 'multi', 'exec', 'discard', 'watch', 'unwatch', 'subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe',
  'punsubscribe', 'sunsubscribe', 'monitor', 'quit', 'reset', 'hello', 'auth', 'client', 'sync', 'psync', 'shutdown', 'debug',
])

const BLOCKING = new Set(['blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'wait', 'waitaof'])

function isBlocking(command: readonly RespArgument[]): boolean {
  const name = String(command[0]).toLowerCase()
  if (BLOCKING.has(name)) return true
  if (name === 'xread' || name === 'xreadgroup') return command.some((arg) => String(arg).toLowerCase() === 'block')
  return false
}

export interface RedisBridgeOptions {
  /** Default 127.0.0.1:6379. */
  redisHost?: string
  redisPort?: number
  /** The bearer token clients must send; random by default. */
  token?: string
  /** Shared connections to Redis (requests are spread over them). */
  connections?: number
}

export interface RedisBridgeStats {
  requests: number
  /** Commands received, as Upstash bills them: each command of a pipeline or transaction counts. */
  commands: number
  byCommand: Record<string, number>
}

/**
 * A fault to inject, for tests of retries: `lose-reply` runs the commands, then drops the connection instead of
 * answering (a reply lost on the network); `unavailable` answers 503 without running them.
 */
export interface BridgeFault {
  kind: 'lose-reply' | 'unavailable'
  /** Which requests (by their commands, names upper-cased) it applies to; all by default. */
  match?: (commands: string[][]) => boolean
  /** How many matching requests it affects. Default 1. */
  times?: number
}

export interface RedisBridge {
  /** http://127.0.0.1:<port> — the UPSTASH_REDIS_REST_URL. */
  url: string
  token: string
  stats(): RedisBridgeStats
  resetStats(): void
  /** An @upstash/redis client for this bridge, configured as EdgeChat configures it (no retries in tests). */
  client(options?: { automaticDeserialization?: boolean; enableAutoPipelining?: boolean }): Redis
  /** Runs raw commands against Redis directly (bypassing HTTP and the statistics), for assertions. */
  raw(commands: RespArgument[][]): Promise<RespValue[]>
  inject(fault: BridgeFault): void
  clearFaults(): void
  close(): Promise<void>
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function unreachable(host: string, port: number, cause: unknown): Error {
  return new Error(
    `Redis is unreachable at ${host}:${port} (${cause instanceof Error ? cause.message : String(cause)}). ` +
      'The Redis hub tests need a running redis-server there (this machine kind starts one); they fail rather than skip.',
  )
}

/** A JSON value of the response: strings base64-encoded (or UTF-8 text), a top-level OK status left as is. */
export function encodeResult(value: RespValue, base64: boolean, topLevel = true): unknown {
  if (value === null || typeof value === 'number') return value
  if (value instanceof SimpleString) {
    if (topLevel && value.value === 'OK') return 'OK'
    return base64 ? Buffer.from(value.value, 'utf8').toString('base64') : value.value
  }
  if (value instanceof RespError) return value.message
  if (Array.isArray(value)) return value.map((item) => encodeResult(item, base64, false))
  return base64 ? value.toString('base64') : value.toString('utf8')
}

function entry(value: RespValue, base64: boolean): { result: unknown } | { error: string } {
  return value instanceof RespError ? { error: value.message } : { result: encodeResult(value, base64) }
}

function toCommand(value: unknown): RespArgument[] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpError(400, 'ERR a command must be a non-empty JSON array')
  return value.map((arg) => {
    if (typeof arg === 'string') return arg
    if (typeof arg === 'number' || typeof arg === 'boolean') return String(arg)
    throw new HttpError(400, `ERR unsupported argument ${JSON.stringify(arg)}: strings and numbers only`)
  })
}

function checkAllowed(command: RespArgument[]) {
  const name = String(command[0]).toLowerCase()
  if (REFUSED.has(name)) throw new HttpError(400, `ERR the test bridge does not run ${name.toUpperCase()}`)
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'ERR max request size exceeded')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export async function startRedisBridge(options: RedisBridgeOptions = {}): Promise<RedisBridge> {
  const host = options.redisHost ?? '127.0.0.1'
  const port = options.redisPort ?? 6379
  const token = options.token ?? randomBytes(24).toString('hex')
  const expected = Buffer.from(`Bearer ${token}`)

  const open = async () => {
    try {
      const connection = await RespConnection.connect({ host, port })
      const [pong] = await connection.send([['PING']])
      if (!(pong instanceof SimpleString) || pong.value !== 'PONG') throw new Error(`unexpected PING reply ${String(pong)}`)
      return connection
    } catch (error) {
      throw unreachable(host, port, error)
    }
  }

  const pool: RespConnection[] = []
  for (let i = 0; i < (options.connections ?? 4); i++) pool.push(await open())
  let turn = 0
  /** A healthy shared connection, replacing any that broke (e.g. Redis restarted). */
  const shared = async (): Promise<RespConnection> => {
    const index = turn++ % pool.length
    if (!pool[index]!.healthy) pool[index] = await open()
    return pool[index]!
  }
  const dedicated = new Set<RespConnection>()
  const run = async (commands: RespArgument[][]): Promise<RespValue[]> => {
    if (commands.some(isBlocking)) {
      const connection = await open()
      dedicated.add(connection)
      try {
        return await connection.send(commands)
      } finally {
        dedicated.delete(connection)
        connection.close()
      }
    }
    return (await shared()).send(commands)
  }

  let stats: RedisBridgeStats = { requests: 0, commands: 0, byCommand: {} }
  const count = (commands: RespArgument[][]) => {
    stats.requests++
    stats.commands += commands.length
    for (const command of commands) {
      const name = String(command[0]).toUpperCase()
      stats.byCommand[name] = (stats.byCommand[name] ?? 0) + 1
    }
  }

  const faults: Required<BridgeFault>[] = []
  /** The fault this request triggers, if any (consuming one of its times). */
  const faultFor = (commands: RespArgument[][]): Required<BridgeFault> | null => {
    const named = commands.map((command) => [String(command[0]).toUpperCase(), ...command.slice(1).map(String)])
    const fault = faults.find((candidate) => candidate.match(named))
    if (!fault) return null
    if (--fault.times <= 0) faults.splice(faults.indexOf(fault), 1)
    return fault
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      res.end(text)
    }
    try {
      const auth = Buffer.from(req.headers.authorization ?? '')
      if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) return send(401, { error: 'Unauthorized' })
      if (req.method !== 'POST') throw new HttpError(405, 'ERR only POST is supported by the test bridge')
      const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64'
      const path = new URL(req.url ?? '/', 'http://bridge').pathname.replace(/\/+$/, '') || '/'
      let body: unknown
      try {
        body = JSON.parse(await readBody(req))
      } catch (error) {
        if (error instanceof HttpError) throw error
        throw new HttpError(400, 'ERR the body is not JSON')
      }

      if (path === '/') {
        const command = toCommand(body)
        checkAllowed(command)
        count([command])
        const fault = faultFor([command])
        if (fault?.kind === 'unavailable') return send(503, { error: 'ERR injected fault: unavailable' })
        const [reply] = await run([command])
        if (fault) return void res.destroy()
        if (reply instanceof RespError) return send(400, { error: reply.message })
        return send(200, { result: encodeResult(reply!, base64) })
      }

      if (path === '/pipeline' || path === '/multi-exec') {
        if (!Array.isArray(body) || body.length === 0) throw new HttpError(400, 'ERR a pipeline must be a non-empty array of commands')
        const commands = body.map(toCommand)
        commands.forEach(checkAllowed)
        count(commands)
        const fault = faultFor(commands)
        if (fault?.kind === 'unavailable') return send(503, { error: 'ERR injected fault: unavailable' })
        if (path === '/pipeline') {
          const replies = await run(commands)
          if (fault) return void res.destroy()
          return send(200, replies.map((reply) => entry(reply, base64)))
        }
        // MULTI … EXEC written in one piece: nothing else can interleave on the connection.
        const replies = await (await shared()).send([['MULTI'], ...commands, ['EXEC']])
        if (fault) return void res.destroy()
        const exec = replies.at(-1)!
        if (exec instanceof RespError) {
          const queued = replies.slice(1, -1).find((reply): reply is RespError => reply instanceof RespError)
          return send(400, { error: queued ? `${exec.message} (${queued.message})` : exec.message })
        }
        if (!Array.isArray(exec)) return send(400, { error: 'ERR the transaction was aborted' })
        return send(200, exec.map((reply) => entry(reply, base64)))
      }

      throw new HttpError(404, `ERR unknown endpoint ${path}`)
    } catch (error) {
      if (error instanceof HttpError) return send(error.status, { error: error.message })
      return send(500, { error: `ERR the bridge failed: ${error instanceof Error ? error.message : String(error)}` })
    }
  }

  const server = createServer((req, res) => void handle(req, res))
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    token,
    stats: () => ({ ...stats, byCommand: { ...stats.byCommand } }),
    resetStats: () => {
      stats = { requests: 0, commands: 0, byCommand: {} }
    },
    client: (clientOptions = {}) =>
      new Redis({
        url,
        token,
        retry: false,
        enableTelemetry: false,
        automaticDeserialization: clientOptions.automaticDeserialization ?? false,
        enableAutoPipelining: clientOptions.enableAutoPipelining ?? false,
      }),
    raw: (commands) => run(commands),
    inject: (fault) => void faults.push({ match: () => true, times: 1, ...fault }),
    clearFaults: () => void faults.splice(0),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      for (const connection of [...pool, ...dedicated]) connection.close()
    },
  }
}
