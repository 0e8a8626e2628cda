import { z } from '@hono/zod-openapi'
import type { WSContext } from 'hono/ws'
import { PartSchema } from '../../chat/parts'
import { findGeneration } from '../../db/repositories/generations'
import { AppError, validationError } from '../../errors'
import { conversationAccess, requireWrite } from '../../services/conversation-access'
import { startTurn } from '../../services/turns'
import type { SequencedEvent } from '../../stream/events'
import type { AuthContext, Services } from '../../types'
import { InferenceSchema } from '../conversations/conversations.routes'

const ClientMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message'),
    content: z.union([z.string(), z.array(PartSchema)]),
    modelId: z.string().min(1).max(300).optional(),
    inference: InferenceSchema.optional(),
    parentId: z.string().min(1).max(100).optional(),
  }),
  z.object({ type: z.literal('cancel'), generationId: z.string().min(1).max(100).optional() }),
  z.object({ type: z.literal('resume'), generationId: z.string().min(1).max(100), after: z.number().int().min(0).default(0) }),
])

const MAX_MESSAGE_CHARS = 25 * 1024 * 1024

/**
 * One WebSocket attached to one conversation: client messages become turns, cancels and resumes; every followed
 * generation's events are sent as `{id, event, data}`, the SSE events as JSON. Errors are answered, never fatal.
 */
export class ConversationSocket {
  private readonly followers = new Set<AsyncIterator<SequencedEvent[]>>()
  private closed = false

  constructor(
    private readonly services: Services,
    private readonly auth: AuthContext,
    private readonly conversationId: string,
  ) {}

  async receive(data: unknown, ws: WSContext): Promise<void> {
    try {
      if (typeof data !== 'string') throw new AppError('validation_failed', 'Messages must be JSON text frames')
      if (data.length > MAX_MESSAGE_CHARS) throw new AppError('payload_too_large', 'Message too large')
      let json: unknown
      try {
        json = JSON.parse(data)
      } catch {
        throw new AppError('validation_failed', 'Malformed JSON')
      }
      const parsed = ClientMessage.safeParse(json)
      if (!parsed.success) throw validationError(parsed.error.issues)
      await this.handle(parsed.data, ws)
    } catch (error) {
      this.sendError(ws, error)
    }
  }

  close(): void {
    this.closed = true
    for (const follower of this.followers) void follower.return?.()
    this.followers.clear()
  }

  private async handle(message: z.infer<typeof ClientMessage>, ws: WSContext): Promise<void> {
    const { services, auth, conversationId } = this
    if (message.type === 'message') {
      const { type: _, ...input } = message
      const turn = await startTurn(services, auth, conversationId, input)
      await this.follow(turn.generation.id, 0, ws)
      return
    }
    if (message.type === 'cancel') {
      const access = await conversationAccess(services, auth, conversationId)
      requireWrite(access)
      const generationId = message.generationId ?? access.conversation.activeGenerationId
      if (!generationId || !(await this.belongsHere(generationId)) || !(await services.hub.cancel(generationId))) {
        throw new AppError('conflict', 'No running generation to cancel')
      }
      return
    }
    await conversationAccess(services, auth, conversationId)
    if (!(await this.belongsHere(message.generationId))) throw new AppError('not_found', 'Generation not found')
    await this.follow(message.generationId, message.after, ws)
  }

  private async belongsHere(generationId: string): Promise<boolean> {
    return (await findGeneration(this.services.db, generationId))?.conversationId === this.conversationId
  }

  /** Streams a generation's events to the socket in the background; the socket keeps taking messages. */
  private async follow(generationId: string, after: number, ws: WSContext): Promise<void> {
    const events = await this.services.hub.subscribe(generationId, after)
    if (!events) throw new AppError('not_found', 'The events of this generation have expired')
    const iterator = events[Symbol.asyncIterator]()
    this.followers.add(iterator)
    void (async () => {
      try {
        for (let next = await iterator.next(); !next.done && !this.closed; next = await iterator.next()) {
          for (const event of next.value) ws.send(JSON.stringify({ id: event.id, event: event.type, data: event.data }))
        }
      } catch (error) {
        this.sendError(ws, error)
      } finally {
        this.followers.delete(iterator)
      }
    })()
  }

  private sendError(ws: WSContext, error: unknown): void {
    if (this.closed) return
    const appError = error instanceof AppError ? error : null
    if (!appError) this.services.logger.error('websocket message failed', { error: String(error) })
    ws.send(
      JSON.stringify({
        event: 'error',
        data: {
          code: appError?.code ?? 'internal',
          status: appError?.status ?? 500,
          message: appError?.message ?? 'An unexpected error occurred',
          ...(appError?.extra.errors ? { errors: appError.extra.errors } : {}),
          ...appError?.extra.members,
        },
      }),
    )
  }
}
