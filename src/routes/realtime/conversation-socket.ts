import { z } from '@hono/zod-openapi'
import type { WSContext } from 'hono/ws'
import { PartSchema } from '../../chat/parts'
import { findGeneration } from '../../db/repositories/generations'
import { AppError, jsonShapeError, validationError } from '../../errors'
import { authenticate, credentialExpiry } from '../../services/authenticate'
import { conversationAccess, requireManage, type ConversationAccess } from '../../services/conversation-access'
import { startTurn, type TurnOptions } from '../../chat/turns'
import { webSocketErrorFrame, webSocketFrame } from '../../protocols/websocket'
import type { SequencedEvent } from '../../stream/events'
import type { AuthContext, Services } from '../../types'
import { InferenceSchema } from '../conversations/conversations.routes'
import { TaskNameSchema, TurnToolsSchema } from '../../tools/turn-tools'
import { CloseCode, defaultSocketLimits, type SocketLimits, type WebSocketOptions } from './socket-options'
import { TokenBucket } from './token-bucket'

const ClientMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message'),
    content: z.union([z.string(), z.array(PartSchema)]),
    modelId: z.string().min(1).max(300).optional(),
    inference: InferenceSchema.optional(),
    parentId: z.string().min(1).max(100).optional(),
    tools: TurnToolsSchema.optional(),
    task: TaskNameSchema.optional(),
  }),
  z.object({ type: z.literal('cancel'), generationId: z.string().min(1).max(100).optional() }),
  z.object({ type: z.literal('resume'), generationId: z.string().min(1).max(100), after: z.number().int().min(0).default(0) }),
])
type ClientMessage = z.infer<typeof ClientMessage>

/** setTimeout's largest delay; a later expiry is looked at again when this one fires. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** `validation_failed` always carries `errors`; a frame that is not a JSON object has no field to name. */
const invalidFrame = (message: string) => new AppError('validation_failed', message, { errors: [{ path: '', message }] })

function utf8Length(text: string): number {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code >= 0x800) bytes += code >= 0xd800 && code <= 0xdbff ? 1 : 2 // a surrogate pair is 4 bytes for 2 units
    else if (code >= 0x80) bytes += 1
  }
  return bytes
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * One WebSocket attached to one conversation: client messages become turns, cancels and resumes; every followed
 * generation's events are sent as `{id, event, data}`, the SSE events as JSON. Bad messages are answered, not fatal.
 *
 * Limits: one follower per generation (a second `resume` of a generation already followed is a `conflict`); client
 * frames are rate limited (token bucket); followers stop pulling events while the send buffer is above the
 * high-water mark, and a socket that stays above it is dropped. The credential and the caller's access to the
 * conversation are checked again on every client frame, periodically, and when the token expires: a socket whose
 * credential is revoked or expired is closed with 4401, one that lost access to the conversation with 4403.
 */
export class ConversationSocket {
  /** generationId → its follower; null while the subscription is being opened. */
  private readonly followers = new Map<string, AsyncIterator<SequencedEvent[]> | null>()
  private readonly limits: SocketLimits
  private readonly now: () => number
  private readonly frames: TokenBucket
  private readonly refusals: TokenBucket
  private ws: WSContext | null = null
  private recheckTimer: ReturnType<typeof setInterval> | undefined
  private expiryTimer: ReturnType<typeof setTimeout> | undefined
  private expiresAt: number | null
  private rechecking = false
  private closed = false

  constructor(
    private readonly services: Services,
    private readonly auth: AuthContext,
    private readonly conversationId: string,
    private readonly token: string,
    private readonly options: WebSocketOptions = {},
    /** The upgrade request's: keeps a Worker working on the turns this socket starts. */
    private readonly turnOptions: TurnOptions = { waitUntil: () => {} },
  ) {
    this.limits = { ...defaultSocketLimits, ...options.limits }
    this.now = options.now ?? Date.now
    this.frames = new TokenBucket(this.limits.framesPerSecond, this.limits.frameBurst, this.now)
    this.refusals = new TokenBucket(1, this.limits.refusalsBeforeClose, this.now)
    this.expiresAt = credentialExpiry(token)
  }

  /** Starts the re-check timers. Runtimes that report no open event (workerd) attach on the first frame. */
  open(ws: WSContext): void {
    if (this.ws || this.closed) return
    this.ws = ws
    this.recheckTimer = setInterval(() => void this.recheck(), this.limits.recheckMs)
    this.scheduleExpiry()
  }

  async receive(data: unknown, ws: WSContext): Promise<void> {
    if (this.closed) return
    this.open(ws)
    if (!this.frames.take()) return this.refuse(ws)
    try {
      const access = await this.verify(ws)
      if (!access) return
      await this.handle(this.parse(data), access, ws)
    } catch (error) {
      this.sendError(ws, error)
    }
  }

  /** The socket is gone (or being closed): stop every follower and timer. */
  close(): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.recheckTimer)
    clearTimeout(this.expiryTimer)
    for (const follower of this.followers.values()) if (follower) release(follower)
    this.followers.clear()
  }

  private parse(data: unknown): ClientMessage {
    if (typeof data !== 'string') throw invalidFrame('Messages must be JSON text frames')
    const max = this.services.config.MAX_TURN_BODY_BYTES
    if (data.length > max || (data.length * 3 > max && utf8Length(data) > max)) {
      throw new AppError('payload_too_large', `Message exceeds ${max} bytes`)
    }
    let json: unknown
    try {
      json = JSON.parse(data)
    } catch {
      throw invalidFrame('Malformed JSON')
    }
    const parsed = ClientMessage.safeParse(json)
    if (!parsed.success) throw validationError(parsed.error.issues)
    const shape = jsonShapeError(parsed.data)
    if (shape) throw shape
    return parsed.data
  }

  private refuse(ws: WSContext): void {
    if (!this.refusals.take()) return this.shutdown(ws, CloseCode.policy, 'Rate limit exceeded')
    const retryAfter = this.frames.retryAfter()
    const limit = `${this.limits.framesPerSecond} a second (bursts of ${this.limits.frameBurst})`
    this.sendError(ws, new AppError('rate_limited', `Too many messages: at most ${limit}`, { members: { retryAfter } }))
  }

  private async handle(message: ClientMessage, access: ConversationAccess, ws: WSContext): Promise<void> {
    const { services, auth, conversationId } = this
    if (message.type === 'message') {
      const { type: _, ...input } = message
      const turn = await startTurn(services, auth, conversationId, input, this.turnOptions)
      await this.follow(turn.generation.id, 0, ws)
      return
    }
    if (message.type === 'cancel') {
      requireManage(access)
      const generationId = message.generationId ?? access.conversation.activeGenerationId
      if (!generationId || !(await this.belongsHere(generationId)) || !(await services.hub.cancel(generationId))) {
        throw new AppError('conflict', 'No running generation to cancel')
      }
      return
    }
    await this.follow(message.generationId, message.after, ws, () => this.belongsHere(message.generationId))
  }

  private async belongsHere(generationId: string): Promise<boolean> {
    return (await findGeneration(this.services.db, generationId))?.conversationId === this.conversationId
  }

  /**
   * Streams a generation's events to the socket in the background; the socket keeps taking messages. The slot is
   * taken before anything is awaited, so concurrent resumes of one generation cannot both get a follower.
   */
  private async follow(generationId: string, after: number, ws: WSContext, visible?: () => Promise<boolean>): Promise<void> {
    if (this.followers.has(generationId)) throw new AppError('conflict', 'This socket already follows that generation')
    this.followers.set(generationId, null)
    let iterator: AsyncIterator<SequencedEvent[]>
    try {
      if (visible && !(await visible())) throw new AppError('not_found', 'Generation not found')
      const events = await this.services.hub.subscribe(generationId, after)
      if (!events) throw new AppError('not_found', 'The events of this generation have expired')
      iterator = events[Symbol.asyncIterator]()
    } catch (error) {
      this.followers.delete(generationId)
      throw error
    }
    if (this.closed) return release(iterator)
    this.followers.set(generationId, iterator)
    void this.pump(generationId, iterator, ws)
  }

  private async pump(generationId: string, iterator: AsyncIterator<SequencedEvent[]>, ws: WSContext): Promise<void> {
    try {
      for (let next = await iterator.next(); !next.done && !this.closed; next = await iterator.next()) {
        for (const event of next.value) {
          if (this.overHighWater(ws) && !(await this.drained(ws))) return
          if (this.closed) return
          ws.send(webSocketFrame(event))
        }
      }
    } catch (error) {
      this.sendError(ws, error)
    } finally {
      if (this.followers.get(generationId) === iterator) this.followers.delete(generationId)
      release(iterator)
    }
  }

  private overHighWater(ws: WSContext): boolean {
    const buffered = this.options.bufferedAmount?.(ws)
    return buffered !== undefined && buffered > this.limits.highWaterBytes
  }

  /** Waits until the send buffer is below the mark; false once the socket is closed, or dropped for staying full. */
  private async drained(ws: WSContext): Promise<boolean> {
    const since = this.now()
    while (this.overHighWater(ws)) {
      if (this.closed) return false
      if (this.now() - since >= this.limits.stalledCloseMs) {
        this.close()
        if (this.options.terminate) this.options.terminate(ws)
        else ws.close(CloseCode.policy, 'Client too slow: its send buffer stayed full')
        return false
      }
      await sleep(this.limits.drainPollMs)
    }
    return !this.closed
  }

  /**
   * The credential and the caller's access, checked again (API keys in the database, access tokens through the
   * verified-token cache). On failure the socket is closed and null returned.
   */
  private async verify(ws: WSContext): Promise<ConversationAccess | null> {
    if (this.closed) return null
    try {
      await authenticate(this.services, this.token)
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'unauthorized') throw error
      const expired = this.expiresAt !== null && this.services.now().getTime() >= this.expiresAt
      this.shutdown(ws, CloseCode.unauthorized, expired ? 'Token expired' : 'Credentials revoked')
      return null
    }
    try {
      const access = await conversationAccess(this.services, this.auth, this.conversationId)
      return this.closed ? null : access
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'not_found') throw error
      this.shutdown(ws, CloseCode.forbidden, 'Access to this conversation was revoked')
      return null
    }
  }

  /** The periodic and expiry-time check, for sockets that only follow. */
  private async recheck(): Promise<void> {
    if (!this.ws || this.rechecking || this.closed) return
    this.rechecking = true
    try {
      if (await this.verify(this.ws)) this.scheduleExpiry()
    } catch (error) {
      this.services.logger.warn('websocket re-check failed', { error: String(error) })
    } finally {
      this.rechecking = false
    }
  }

  private scheduleExpiry(): void {
    clearTimeout(this.expiryTimer)
    if (this.expiresAt === null || this.closed) return
    const delay = Math.min(Math.max(0, this.expiresAt - this.services.now().getTime()) + 1, MAX_TIMER_MS)
    this.expiryTimer = setTimeout(() => void this.recheck(), delay)
  }

  private shutdown(ws: WSContext, code: number, reason: string): void {
    if (this.closed) return
    this.close()
    ws.close(code, reason)
  }

  private sendError(ws: WSContext, error: unknown): void {
    if (this.closed) return
    const appError = error instanceof AppError ? error : null
    if (!appError) this.services.logger.error('websocket message failed', { error: String(error) })
    ws.send(webSocketErrorFrame(appError))
  }
}

/** Ends a hub subscription; a follower parked on a quiet generation ends at its next event. */
function release(iterator: AsyncIterator<SequencedEvent[]>): void {
  void Promise.resolve(iterator.return?.()).catch(() => undefined)
}
