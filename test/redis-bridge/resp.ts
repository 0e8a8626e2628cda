/**
 * A minimal RESP2 client for the test bridge: commands out as arrays of bulk strings, replies in as Buffers
 * (bulk strings stay bytes, so the bridge can base64 exactly what Redis stored). Replies come back in order on a
 * connection, so a batch of commands is one write and the next N replies.
 *
 * Why not the `redis` or `ioredis` package: the bridge needs byte-exact bulk strings, the simple/bulk distinction
 * (Upstash leaves a top-level simple `OK` unencoded) and errors as values inside EXEC replies, all of which those
 * clients hide or convert; this is ~150 lines and adds no dependency.
 */
import { connect, type Socket } from 'node:net'

export class SimpleString {
  constructor(readonly value: string) {}
}

export class RespError {
  constructor(readonly message: string) {}
}

export type RespValue = Buffer | SimpleString | RespError | number | null | RespValue[]

export type RespArgument = string | number | Buffer

const CRLF = Buffer.from('\r\n')

export function encodeCommand(args: readonly RespArgument[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) {
    const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg), 'utf8')
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF)
  }
  return Buffer.concat(parts)
}

/** Parses one reply at `offset`; null when the buffer does not yet hold all of it. */
export function parseReply(buffer: Buffer, offset: number): [RespValue, number] | null {
  const lineEnd = buffer.indexOf(CRLF, offset)
  if (lineEnd < 0) return null
  const type = String.fromCharCode(buffer[offset]!)
  const line = buffer.toString('utf8', offset + 1, lineEnd)
  const next = lineEnd + 2
  switch (type) {
    case '+':
      return [new SimpleString(line), next]
    case '-':
      return [new RespError(line), next]
    case ':':
      return [Number(line), next]
    case '$': {
      const length = Number(line)
      if (length < 0) return [null, next]
      if (buffer.length < next + length + 2) return null
      return [buffer.subarray(next, next + length), next + length + 2]
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return [null, next]
      const items: RespValue[] = []
      let at = next
      for (let i = 0; i < count; i++) {
        const parsed = parseReply(buffer, at)
        if (!parsed) return null
        items.push(parsed[0])
        at = parsed[1]
      }
      return [items, at]
    }
    default:
      throw new Error(`RESP protocol error: unexpected reply type ${JSON.stringify(type)}`)
  }
}

interface Pending {
  remaining: number
  replies: RespValue[]
  resolve(replies: RespValue[]): void
  reject(error: Error): void
}

export interface RespConnectionOptions {
  host: string
  port: number
  connectTimeoutMs?: number
}

/** One connection to Redis. `send` pipelines a batch of commands and resolves with their replies, in order. */
export class RespConnection {
  private buffer: Buffer = Buffer.alloc(0)
  private readonly queue: Pending[] = []
  private failure: Error | null = null

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (error) => this.fail(error))
    socket.on('close', () => this.fail(new Error('Redis connection closed')))
  }

  static connect({ host, port, connectTimeoutMs = 2_000 }: RespConnectionOptions): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port })
      socket.setNoDelay(true)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`timed out after ${connectTimeoutMs} ms connecting to ${host}:${port}`))
      }, connectTimeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        resolve(new RespConnection(socket))
      })
      socket.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
    })
  }

  get healthy(): boolean {
    return this.failure === null
  }

  send(commands: readonly (readonly RespArgument[])[]): Promise<RespValue[]> {
    if (this.failure) return Promise.reject(this.failure)
    if (commands.length === 0) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      this.queue.push({ remaining: commands.length, replies: [], resolve, reject })
      this.socket.write(Buffer.concat(commands.map(encodeCommand)))
    })
  }

  close(): void {
    this.fail(new Error('Redis connection closed by the bridge'))
    this.socket.destroy()
  }

  private onData(chunk: Buffer) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    let offset = 0
    for (;;) {
      let parsed: [RespValue, number] | null
      try {
        parsed = parseReply(this.buffer, offset)
      } catch (error) {
        this.fail(error as Error)
        this.socket.destroy()
        return
      }
      if (!parsed) break
      offset = parsed[1]
      const head = this.queue[0]
      if (!head) continue // an unsolicited reply: nothing is waiting for it
      head.replies.push(parsed[0])
      if (--head.remaining === 0) {
        this.queue.shift()
        head.resolve(head.replies)
      }
    }
    // Copy the rest so the (possibly large) consumed part can be collected; replies already parsed are
    // subarrays of the old buffer and keep only it alive.
    this.buffer = offset >= this.buffer.length ? Buffer.alloc(0) : Buffer.from(this.buffer.subarray(offset))
  }

  private fail(error: Error) {
    if (!this.failure) this.failure = error
    for (const pending of this.queue.splice(0)) pending.reject(this.failure)
  }
}
