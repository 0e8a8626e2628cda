import type { Context } from 'hono'
import { findMessage } from '../../db/repositories/messages'
import { AppError, errorStatus, notFound, problemResponse, type ErrorCode } from '../../errors'
import { collectTurn } from '../../protocols/collect-turn'
import { renderMessage } from '../../chat/render'
import { storedGenerationEvents } from '../../chat/stored-events'
import type { StartedTurn } from '../../chat/turns'
import { eventStreamResponse } from '../generations/event-stream'
import type { AppEnv } from '../../types'

/**
 * The answer to a started turn (a new message or a regenerate): its events as SSE, or with `stream: false` both
 * messages once it ends (201), or the problem it failed with, naming the generation and the assistant message.
 */
export async function turnResponse(c: Context<AppEnv>, turn: StartedTurn, stream: boolean): Promise<Response> {
  const services = c.var.services
  const generationId = turn.generation.id
  if (turn.replayed) c.header('Idempotent-Replayed', 'true')
  const events =
    (await services.hub.subscribe(generationId, 0)) ??
    (turn.replayed && turn.generation.status !== 'running' ? storedGenerationEvents(turn.generation, turn.assistantMessage) : null)
  if (!events) throw new AppError('internal', 'The generation could not be followed')
  if (stream) return eventStreamResponse(c, events)

  const { ending } = await collectTurn(events)
  const failure =
    ending?.type === 'failed' ? { code: ending.code, message: ending.message } : ending?.type === 'cancelled' ? { code: 'conflict', message: 'The generation was cancelled' } : null
  if (failure) {
    const code: ErrorCode = Object.hasOwn(errorStatus, failure.code) ? (failure.code as ErrorCode) : 'upstream_error'
    return problemResponse(
      c,
      new AppError(code, failure.message, {
        members: { generationId, assistantMessageId: turn.assistantMessage.id },
        ...(code === 'rate_limited' ? { headers: { 'Retry-After': '1' } } : {}),
      }),
    )
  }
  const [userMessage, assistantMessage] = await Promise.all([findMessage(services.db, turn.userMessage.id), findMessage(services.db, turn.assistantMessage.id)])
  if (!userMessage || !assistantMessage) throw notFound('Message')
  return c.json({ userMessage: renderMessage(userMessage), assistantMessage: renderMessage(assistantMessage) }, 201)
}
